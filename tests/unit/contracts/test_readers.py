"""Each department's real file type read end to end (read → standardise → validate), dirt included.

Broken inputs: a refused file names itself and says why; a bad line is
quarantined with its editor line number; nothing else is lost.
"""

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest

from shiyou.contracts.readers import DeliveryRefused
from shiyou.ingest.delivery import ingest_file
from tests.files import CONTRACTS, headers, row, write_csv, write_pipe, write_xlsx

DAY = dt.date(2026, 11, 20)
WOMAN_ID = "440106199003070028"  # valid, even sequence digit: female
MAN_ID = "440106198801010017"


def ingest(tmp_path: Path, source: str, path: Path):
    con = duckdb.connect()
    res = ingest_file(con, CONTRACTS[source], path, snapshot_date=DAY, scratch_dir=tmp_path, area_code="020")
    recs = con.execute(f"SELECT * FROM source_records_{source} ORDER BY line_no, record_id").df()
    quar = con.execute(f"SELECT * FROM quarantine__{source} ORDER BY line_no").df()
    con.close()
    return res, recs, quar


def test_civil_affairs_bom_csv_with_quoted_commas(tmp_path):
    p = write_csv(tmp_path / "minzheng_20261120.csv", headers("civil_affairs"), [
        row("civil_affairs", 记录编号="MZ1", 姓名="张伟", 性别="男", 公民身份号码=MAN_ID,
            出生日期="1988-01-01", 民族="汉族", 现居住地址="天河区天河北路233号, 3栋1502房", 人员状态="死亡",
            状态变更日期="2025-06-01"),
        row("civil_affairs", 记录编号="MZ2", 姓名="阿依古丽•买买提", 性别="女", 民族="维吾尔", 人员状态="正常"),
    ], bom=True)
    res, recs, quar = ingest(tmp_path, "civil_affairs", p)
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined) == (2, 2, 0)
    first = recs.iloc[0]
    assert first["record_id"] == "MZ1" and first["sex"] == "1" and first["status"] == "deceased"
    assert first["address"] == "天河区天河北路233号, 3栋1502房"
    assert str(first["status_date"])[:10] == "2025-06-01"
    second = recs.iloc[1]
    assert second["ethnic_group"] == "05"  # 维吾尔 without 族 still finds GB/T 3304 code 05
    assert second["name_norm"] == "阿依古丽·买买提"
    assert "id_missing" in list(second["quality_flags"])


def test_labour_gb18030_month_only_birth(tmp_path):
    p = write_csv(tmp_path / "laodong_20261120.csv", headers("labour"), [
        row("labour", 登记编号="LD1", 姓名="刘德华", 身份证号="４４０１０６１９８８０１０１００１７", 性别代码="1",
            出生年月="198801", 文化程度="大专", 手机号码="+86 138-0013-8000", 登记时间="2023/01/05 12:03:04"),
    ], encoding="gb18030")
    assert "刘德华".encode("gb18030") in p.read_bytes()  # really GB18030, not UTF-8
    res, recs, _ = ingest(tmp_path, "labour", p)
    r = recs.iloc[0]
    assert r["name"] == "刘德华" and r["id_number"] == MAN_ID and r["id_status"] == "valid"
    assert r["birth_year_month"] == "1988-01" and r["birth_date_precision"] == "month"
    assert r["birth_date"] is None or str(r["birth_date"]) in ("NaT", "None")
    assert r["education"] == "30" and r["phone"] == "13800138000"
    assert list(r["quality_flags"]) == []  # month agrees with the ID: no mismatch


def test_family_planning_xlsx_two_persons_and_date_cells(tmp_path):
    p = write_xlsx(tmp_path / "jisheng_20261120.xlsx", "育龄妇女信息", headers("family_planning"), [
        row("family_planning", 档案编号="JS1", 女方姓名="王芳", 女方身份证号=WOMAN_ID,
            女方出生日期=dt.date(1990, 3, 7), 男方姓名="李军", 婚姻状况="初婚", 现有子女数=2, 建档日期="2015-05-01"),
        row("family_planning", 档案编号="JS2", 女方姓名="陈丽", 女方身份证号=4.40106199003e17,
            女方出生日期="1990/3/7", 婚姻状况="未婚"),
    ])
    res, recs, quar = ingest(tmp_path, "family_planning", p)
    assert (res.rows_read, res.rows_loaded, res.records_loaded) == (2, 2, 3)
    by_id = recs.set_index("record_id")
    assert sorted(by_id.index) == ["JS1-F", "JS1-M", "JS2-F"]
    assert str(by_id.loc["JS1-F", "birth_date"])[:10] == "1990-03-07"  # Excel date cell
    assert str(by_id.loc["JS2-F", "birth_date"])[:10] == "1990-03-07"  # text YYYY/M/D
    assert by_id.loc["JS1-M", "sex"] == "1" and by_id.loc["JS1-F", "sex"] == "2"
    assert by_id.loc["JS1-F", "marital_status"] == "21"
    assert by_id.loc["JS2-F", "id_status"] == "scientific_notation"  # an ID typed as a number
    assert by_id.loc["JS1-M", "line_no"] == by_id.loc["JS1-F", "line_no"] == 2


def test_social_security_pipe_without_quoting(tmp_path):
    p = write_pipe(tmp_path / "shebao_20261120.txt", headers("social_security"), [
        row("social_security", 个人编号="1000234567", 姓名='王"五', 证件类型="01", 证件号码=MAN_ID, 性别="1",
            出生日期="19880101", 联系电话="020-87654321"),
        row("social_security", 个人编号="1000234568", 姓名="John SMITH", 证件类型="02", 证件号码="E12345678",
            性别="1", 出生日期="19800230"),
    ])
    res, recs, _ = ingest(tmp_path, "social_security", p)
    assert res.rows_loaded == 2
    assert recs.iloc[0]["name"] == '王"五'  # a quote is just a character here
    foreign = recs.iloc[1]
    assert foreign["id_type"] == "passport" and foreign["id_status"] == "not_resident_id"
    assert "birth_date_unparseable" in list(foreign["quality_flags"])  # 1980-02-30


def test_police_field_codes_and_cancellations(tmp_path):
    p = write_csv(tmp_path / "gongan_syrk_20261120.csv", headers("police"), [
        row("police", RYBH="R1", XM="張偉", ZJLX="111", ZJHM="110105491231002", XBDM="2", MZDM="01",
            CSRQ="19491231", RYLB="1", HH="H1", YHZGX="02", ZXBS="1", ZXYY="死亡", ZXRQ="20250101"),
        row("police", RYBH="R2", XM="李娜", ZJLX="111", XBDM="9", RYLB="2", ZXBS="0"),
    ])
    res, recs, _ = ingest(tmp_path, "police", p)
    r1, r2 = recs.iloc[0], recs.iloc[1]
    assert r1["name"] == "張偉" and r1["name_key"] == "张伟"  # delivered name kept, key simplified
    assert r1["id_number"] == "11010519491231002X" and "id_legacy_15" in list(r1["quality_flags"])
    assert r1["status"] == "deceased" and r1["relation_to_head"] == "02" and r1["population_type"] == "registered"
    assert r2["status"] == "active" and r2["population_type"] == "migrant"
    assert "sex_unstated" in list(r2["quality_flags"])


# ----------------------------------------------------------------------------- broken inputs


def _police_rows(n):
    return [row("police", RYBH=f"R{i}", XM=f"张{i}", ZJLX="111", XBDM="1", ZXBS="0") for i in range(n)]


def test_truncated_last_line_is_quarantined_nothing_else_lost(tmp_path):
    rows = _police_rows(5)
    p = write_csv(tmp_path / "gongan_syrk_20261120.csv", headers("police"), rows, final_newline=False)
    data = p.read_bytes()
    p.write_bytes(data[: data.rfind(b",", 0, len(data) - 20)])  # cut inside the last record
    res, recs, quar = ingest(tmp_path, "police", p)
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined) == (5, 4, 1)
    assert quar.iloc[0]["line_no"] == 6 and quar.iloc[0]["rule"] == "truncated_line"
    assert list(recs["record_id"]) == ["R0", "R1", "R2", "R3"]


def test_wrong_column_count_keeps_editor_line_numbers(tmp_path):
    p = write_csv(tmp_path / "gongan_syrk_20261120.csv", headers("police"), _police_rows(4))
    lines = p.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "RX,多,了,字段," + ",".join(["x"] * 20))  # becomes line 3
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res, recs, quar = ingest(tmp_path, "police", p)
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined) == (5, 4, 1)
    assert quar.iloc[0]["line_no"] == 3 and quar.iloc[0]["rule"] == "wrong_column_count"
    assert recs.set_index("record_id").loc["R1", "line_no"] == 4  # after the bad line


def test_multiline_quoted_field_counts_editor_lines(tmp_path):
    rows = _police_rows(3)
    rows[0][headers("police").index("JZDZ")] = "天河路1号\n3栋"  # a field spanning two lines
    p = write_csv(tmp_path / "gongan_syrk_20261120.csv", headers("police"), rows + [["R9", "短"]])
    res, recs, quar = ingest(tmp_path, "police", p)
    assert res.rows_read == 4 and res.rows_quarantined == 1
    assert list(recs["line_no"]) == [2, 4, 5]
    assert quar.iloc[0]["line_no"] == 6


def test_empty_name_and_duplicate_key_go_to_quarantine(tmp_path):
    rows = _police_rows(3)
    rows[1][headers("police").index("XM")] = "  "
    rows.append(list(rows[0]))
    p = write_csv(tmp_path / "gongan_syrk_20261120.csv", headers("police"), rows)
    res, recs, quar = ingest(tmp_path, "police", p)
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined) == (4, 2, 2)
    assert dict(zip(quar["line_no"], quar["rule"])) == {3: "name_missing", 5: "record_key_duplicate"}
    assert quar.iloc[0]["raw"].startswith("R1,")


def test_quarantined_records_carry_their_own_delivered_line(tmp_path):
    # The raw lines are picked out of the delivery by line number (a semi-join): each
    # quarantined record gets exactly its own line, the loaded ones none.
    rows = _police_rows(6)
    rows[1][headers("police").index("XM")] = ""
    rows[4][headers("police").index("XM")] = ""
    p = write_csv(tmp_path / "gongan_syrk_20261120.csv", headers("police"), rows)
    res, recs, quar = ingest(tmp_path, "police", p)
    lines = p.read_text(encoding="utf-8-sig").splitlines()
    assert list(quar["line_no"]) == [3, 6]
    assert list(quar["raw"]) == [lines[2], lines[5]]
    assert list(recs["line_no"]) == [2, 4, 5, 7]


@pytest.mark.parametrize("case,needle", [
    ("empty", "empty file"),
    ("header_only", "no records"),
    ("missing_column", "required column(s) missing: ZJHM"),
    ("wrong_encoding", "not valid utf-8"),
])
def test_unusable_police_files_are_refused_with_a_reason(tmp_path, case, needle):
    p = tmp_path / "gongan_syrk_20261120.csv"
    hs = headers("police")
    if case == "empty":
        p.write_bytes(b"")
    elif case == "header_only":
        write_csv(p, hs, [])
    elif case == "missing_column":
        write_csv(p, [h for h in hs if h != "ZJHM"], [r[:4] + r[5:] for r in _police_rows(2)])
    elif case == "wrong_encoding":
        write_csv(p, hs, _police_rows(2), encoding="gb18030")
    with pytest.raises(DeliveryRefused) as exc:
        ingest(tmp_path, "police", p)
    assert needle in str(exc.value) and "gongan_syrk_20261120.csv" in str(exc.value)


def test_utf8_file_where_gb18030_is_promised_is_refused(tmp_path):
    p = write_csv(tmp_path / "laodong_20261120.csv", headers("labour"),
                  [row("labour", 登记编号="LD1", 姓名="刘德华")], encoding="utf-8")
    with pytest.raises(DeliveryRefused, match="gb18030"):
        ingest(tmp_path, "labour", p)


def test_file_that_is_not_xlsx_is_refused(tmp_path):
    p = tmp_path / "jisheng_20261120.xlsx"
    p.write_text("档案编号,女方姓名\nJS1,王芳\n", encoding="utf-8")
    with pytest.raises(DeliveryRefused, match="not a readable xlsx"):
        ingest(tmp_path, "family_planning", p)


def test_xlsx_wrong_sheet_is_refused(tmp_path):
    p = write_xlsx(tmp_path / "jisheng_20261120.xlsx", "Sheet1", headers("family_planning"),
                   [row("family_planning", 档案编号="JS1", 女方姓名="王芳")])
    with pytest.raises(DeliveryRefused, match="sheet '育龄妇女信息' not found"):
        ingest(tmp_path, "family_planning", p)


def test_one_extra_empty_trailing_field_is_not_loaded_shifted(tmp_path):
    """DuckDB alone takes `…,0,,` + one stray comma as a trailing delimiter; we count fields ourselves."""
    p = write_csv(tmp_path / "gongan_syrk_20261120.csv", headers("police"), _police_rows(3))
    lines = p.read_text(encoding="utf-8").splitlines()
    cells = lines[2].split(",")
    cells.insert(11, "天河路1号")  # a comma typed inside JZDZ; the row now ends in an extra empty field
    cells[-1:] = []
    lines[2] = ",".join(cells) + ","
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res, recs, quar = ingest(tmp_path, "police", p)
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined) == (3, 2, 1)
    assert quar.iloc[0]["line_no"] == 3 and quar.iloc[0]["rule"] == "wrong_column_count"


# ----------------------------------------------------------------------------- odd files (review findings)


@pytest.mark.parametrize("mutate,needle", [
    (lambda hs: hs + [""], "empty column name"),
    (lambda hs: hs + ["xm"], "repeats 1 column name"),  # XM and xm are one SQL column
    (lambda hs: hs + ["__line_no"], "reserved"),
])
def test_unusable_headers_are_refused(tmp_path, mutate, needle):
    hs = headers("police")
    p = write_csv(tmp_path / "gongan_syrk_20261120.csv", mutate(hs), [r + [""] for r in _police_rows(2)])
    with pytest.raises(DeliveryRefused, match=needle):
        ingest(tmp_path, "police", p)


def test_file_without_its_header_row_is_refused_without_echoing_data(tmp_path):
    rows = _police_rows(3)
    rows[0][headers("police").index("JZDZ")] = "天河路233号3栋1502房"
    p = write_csv(tmp_path / "gongan_syrk_20261120.csv", rows[0], rows[1:])  # first data row where the header was
    with pytest.raises(DeliveryRefused) as exc:
        ingest(tmp_path, "police", p)
    assert "天河路" not in str(exc.value) and "张0" not in str(exc.value)


def test_unclosed_quote_rejects_one_line_not_the_records_after_it(tmp_path):
    rows = [row("civil_affairs", 记录编号=f"MZ{i}", 姓名=f"陈{i}", 人员状态="正常") for i in range(8)]
    p = write_csv(tmp_path / "minzheng_20261120.csv", headers("civil_affairs"), rows, bom=True)
    lines = p.read_bytes().decode("utf-8-sig").split("\n")
    lines[3] = lines[3].replace("陈2", '"陈2')  # a quote that never closes
    p.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode())
    res, recs, quar = ingest(tmp_path, "civil_affairs", p)
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined) == (8, 7, 1)
    assert list(quar["line_no"]) == [4]
    assert sorted(recs["record_id"]) == [f"MZ{i}" for i in range(8) if i != 2]


def test_lone_carriage_return_and_huge_field_do_not_stop_the_file(tmp_path):
    rows = _police_rows(4)
    rows[1][headers("police").index("JZDZ")] = "天河路\r1号"
    rows[2][headers("police").index("HJDZ")] = "广" * 200_000  # longer than the csv module's default limit
    p = write_csv(tmp_path / "gongan_syrk_20261120.csv", headers("police"), rows, quoting=csv.QUOTE_NONE)
    res, recs, quar = ingest(tmp_path, "police", p)
    assert res.rows_read == 4 and res.rows_read == res.rows_loaded + res.rows_quarantined
    assert "R2" in set(recs["record_id"])


def test_file_changed_between_plan_and_read_is_refused(tmp_path):
    from shiyou.contracts.readers import read_delivery

    p = write_csv(tmp_path / "gongan_syrk_20261120.csv", headers("police"), _police_rows(2))
    with pytest.raises(DeliveryRefused, match="changed while the run was reading"):
        read_delivery(duckdb.connect(), CONTRACTS["police"], p, "raw", tmp_path, expected_sha256="0" * 64)


def test_invisible_names_are_missing_names(tmp_path):
    rows = _police_rows(3)
    rows[1][headers("police").index("XM")] = "\u00a0\u200b"
    p = write_csv(tmp_path / "gongan_syrk_20261120.csv", headers("police"), rows)
    res, recs, quar = ingest(tmp_path, "police", p)
    assert list(zip(quar["line_no"], quar["rule"])) == [(3, "name_missing")]


@pytest.mark.parametrize("text", [
    "h1,h2\na,b\n", "h1,h2\r\na,b\r\n", "h1,h2\na,b", "h1,h2\na,b\r", "h1,h2\r\na,b\r\r\nc\rd,e\n",
    "h1,h2\n\n\na,b\n\n", "h1,h2\n\"x,y\",z\nq,\"\"\n", "\n", "", "h1，h2\n甲，乙，丙\n，\n",
])
def test_line_cutting_matches_the_editor_lines(text):
    """The byte-level line cutter (numpy) agrees with the str-level reference: same lines,
    one CR dropped before a line end, and the same per-line delimiter counts."""
    import numpy as np

    from shiyou.contracts.readers import _Lines, _physical_lines

    lines = _Lines(np.frombuffer(text.encode("utf-8"), np.uint8), text.endswith("\n"))
    expected = _physical_lines(text)
    assert [lines.text(i) for i in range(len(lines))] == expected
    for delim in (",", "，", '"'):
        assert lines.count(delim).tolist() == [ln.count(delim) for ln in expected]


def test_xlsx_blank_rows_and_values_beyond_the_header(tmp_path):
    hdr = headers("family_planning")
    good = row("family_planning", 档案编号="JS1", 女方姓名="李娜", 女方身份证号=WOMAN_ID)
    p = write_xlsx(tmp_path / "jisheng_20261120.xlsx", CONTRACTS["family_planning"].file.sheet, hdr, [
        good, [None] * len(hdr), [*row("family_planning", 档案编号="JS2", 女方姓名="王芳"), None, "x"],
        row("family_planning", 档案编号="JS3", 女方姓名="赵敏")[:3],
    ])
    res, recs, quar = ingest(tmp_path, "family_planning", p)
    assert res.rows_read == 3  # the blank sheet row is not a record
    beyond = quar[quar["rule"] == "wrong_column_count"]
    assert list(beyond["line_no"]) == [4]
    assert beyond["raw"].iloc[0].endswith(",x") and "王芳" in beyond["raw"].iloc[0]
    assert set(recs["line_no"]) | set(quar["line_no"]) == {2, 4, 5}  # the short row is read, padded
