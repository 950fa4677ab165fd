"""Source contracts are data: they load, they are checked, and every problem is reported at once."""

from pathlib import Path

import pytest

from shiyou.contracts.model import ContractError, load_contracts

BAD = """
source: housing
label: 住建
file: {pattern: "zhufang.csv", format: csv}
record_key: 编号
columns:
  姓名: {field: name}
  身份证: {field: id_numbr}
  性别: {field: sex, code_table: no_such_table}
  出生: {field: birth_date}
"""


def test_bundled_contracts_cover_the_five_departments():
    contracts = {c.source: c for c in load_contracts()}
    assert sorted(contracts) == ["civil_affairs", "family_planning", "labour", "police", "social_security"]
    fp = contracts["family_planning"]
    assert [p.key_suffix for p in fp.persons] == ["-F", "-M"]
    assert fp.persons[1].present_when == "男方姓名"
    assert contracts["labour"].file.encoding == "gb18030"
    assert contracts["social_security"].file.quote is None
    assert contracts["police"].columns["XBDM"].code_table == "gb2261_1_sex"


def test_every_problem_is_reported_in_one_error(tmp_path: Path):
    p = tmp_path / "housing.yaml"
    p.write_text(BAD, encoding="utf-8")
    with pytest.raises(ContractError) as exc:
        load_contracts([p])
    msg = str(exc.value)
    # pattern without {yyyymmdd} is a model error: the file stops there, with its location
    assert "housing.yaml" in msg and "yyyymmdd" in msg


def test_semantic_problems_listed_together(tmp_path: Path):
    p = tmp_path / "housing.yaml"
    p.write_text(BAD.replace('"zhufang.csv"', '"zhufang_{yyyymmdd}.csv"'), encoding="utf-8")
    with pytest.raises(ContractError) as exc:
        load_contracts([p])
    msg = str(exc.value)
    assert "unknown data element 'id_numbr'" in msg
    assert "unknown code table 'no_such_table'" in msg
    assert "date column '出生' needs `formats`" in msg


def test_file_name_must_match_source_key(tmp_path: Path):
    p = tmp_path / "other.yaml"
    p.write_text(BAD.replace('"zhufang.csv"', '"zhufang_{yyyymmdd}.csv"').replace("  身份证: {field: id_numbr}\n", "")
                 .replace("code_table: no_such_table", "code_table: gb2261_1_sex")
                 .replace("{field: birth_date}", "{field: birth_date, formats: ['%Y%m%d']}"), encoding="utf-8")
    with pytest.raises(ContractError, match="file name must be housing.yaml"):
        load_contracts([p])
