"""Each extract has the spec's file name, encoding, header and field formats."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from .extracts import ENCODINGS, FILES, HEADERS, as_dict, path_of, read_rows

SOURCES = list(FILES)


def test_layout_and_file_names(sample_dir):
    for source in SOURCES:
        assert path_of(sample_dir, source).is_file(), source
    truth = sorted(p.name for p in (sample_dir / "truth").iterdir())
    assert truth == ["broken_rows.csv", "dirt.csv", "persons.csv", "truth.csv"]


@pytest.mark.parametrize("source", SOURCES)
def test_header_is_the_spec_header_in_order(sample_dir, source):
    header, rows = read_rows(sample_dir, source)
    assert header == HEADERS[source].split(",")
    assert len(rows) > 100


def test_civil_affairs_is_utf8_with_bom_and_rfc4180(sample_dir):
    raw = path_of(sample_dir, "civil_affairs").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == raw.count(b"\n")  # CRLF throughout
    header, rows = read_rows(sample_dir, "civil_affairs")
    # Free text with a comma or quotes survives only because it is quoted.
    quoted = [r for _, r in rows if len(r) == 14 and ("," in r[8] or '"' in r[8])]
    assert quoted
    assert b'""' in raw or any("," in r[8] for r in quoted)


def test_labour_is_gb18030_not_utf8(sample_dir):
    raw = path_of(sample_dir, "labour").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gb18030")
    assert "姓名" in text and not text.startswith("\ufeff")


def test_social_security_is_plain_utf8_pipe_separated(sample_dir):
    raw = path_of(sample_dir, "social_security").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")
    assert '"' not in text  # no quoting at all
    assert text.splitlines()[0].count("|") == 11


def test_police_is_utf8_with_field_code_header(sample_dir):
    raw = path_of(sample_dir, "police").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    raw.decode("utf-8")
    header, rows = read_rows(sample_dir, "police")
    good = [as_dict(header, r) for _, r in rows if len(r) == len(header)]
    cancelled = [r for r in good if r["ZXBS"] == "1"]
    assert {r["ZXYY"] for r in cancelled} >= {"死亡", "迁出"}
    assert all(re.fullmatch(r"\d{8}", r["ZXRQ"]) for r in cancelled)
    assert all(r["ZXYY"] == "" and r["ZXRQ"] == "" for r in good if r["ZXBS"] == "0")
    assert {r["XBDM"] for r in good} >= {"1", "2"}
    assert {r["XBDM"] for r in good} <= {"0", "1", "2", "9"}
    assert {r["ZJLX"] for r in good} <= {"111", "414", "516", "511"}
    assert {r["RYLB"] for r in good} == {"1", "2", "3"}
    assert all(re.fullmatch(r"R440106\d{7}", r["RYBH"]) for r in good)


def test_family_planning_xlsx_mixes_date_cells_and_text_dates(sample_dir):
    header, rows = read_rows(sample_dir, "family_planning")
    births = [r[3] for _, r in rows]
    assert sum(isinstance(b, dt.date) for b in births) > len(births) / 2
    text = [b for b in births if isinstance(b, str)]
    assert text and all(re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", b) for b in text)
    opened = [r[11] for _, r in rows]
    assert any(isinstance(o, dt.date) for o in opened)
    assert any(isinstance(o, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", o) for o in opened)
    # Husbands: named on most rows, never with a birth date column; ID often missing.
    named = [r for _, r in rows if r[4]]
    assert len(named) > len(rows) / 2
    assert sum(1 for r in named if r[5] == "") > len(named) / 4


def test_field_formats(sample_dir):
    fmt = {
        "civil_affairs": {"登记日期": r"\d{4}-\d{2}-\d{2}", "性别": "[男女]",
                          "服务类别": "低保|特困供养|高龄津贴|残疾人补贴|临时救助",
                          "人员状态": "正常|死亡|迁出|停发", "记录编号": r"MZ\d{11}"},
        "labour": {"登记时间": r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}", "登记编号": r"LD440106\d{9}",
                   "出生年月": r"\d{6}", "文化程度": "小学|初中|高中|中专|大专|本科|研究生",
                   "就业状态": "就业|失业|灵活就业|退休"},
        "social_security": {"个人编号": r"\d{10}", "证件类型": "01|02|03|04|06", "性别": "[12]",
                            "出生日期": r"\d{8}", "最后缴费年月": r"(\d{6})?",
                            "参保状态": "参保缴费|暂停缴费|待遇享受|终止参保"},
        "police": {"CSRQ": r"\d{8}", "DJRQ": r"\d{8}", "MZDM": r"(\d{2})?", "HH": r"\d{13}",
                   "YHZGX": r"\d{2}", "DZBM": r"\d{20}"},
    }
    for source, checks in fmt.items():
        header, rows = read_rows(sample_dir, source)
        good = [as_dict(header, r) for _, r in rows if len(r) == len(header)]
        for column, pattern in checks.items():
            bad = [r[column] for r in good if not re.fullmatch(pattern, str(r[column]))]
            assert not bad, (source, column, bad[:5])


def test_encodings_table_covers_every_text_source():
    assert set(ENCODINGS) == set(SOURCES) - {"family_planning"}
