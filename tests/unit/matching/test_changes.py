"""change_events: one small before/after pair of releases through the real SQL on DuckDB."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from shiyou.matching.changes import change_events_sql

RESIDENT = ("resident_id VARCHAR, name VARCHAR, id_number VARCHAR, address VARCHAR, phone VARCHAR, "
            "household_id VARCHAR, population_type VARCHAR, status VARCHAR, status_date DATE, provenance VARCHAR")
ID_1 = "440106199001011234"


def _release(con, schema: str, residents: list[tuple], xref: list[tuple]) -> None:
    con.execute(f"CREATE TABLE {schema}.residents ({RESIDENT})").fetchall()
    con.executemany(f"INSERT INTO {schema}.residents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", residents)
    con.execute(f"CREATE TABLE {schema}.resident_xref (record_uid VARCHAR, resident_id VARCHAR)").fetchall()
    con.executemany(f"INSERT INTO {schema}.resident_xref VALUES (?, ?)", xref)


def _prov(**fields) -> str:
    return json.dumps(fields)


@pytest.fixture()
def events():
    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS prev").fetchall()
    p = _prov(name="police:1", address="police:1", phone="labour:9")
    _release(con, "prev", [
        ("R1", "张三", ID_1, "天河路1号", "13800138000", "H1", "resident", "active", None, p),
        ("R2", "李四", None, "中山大道2号", None, None, "resident", "active", None, p),
        ("R3", "王五", None, "体育西路3号", None, None, "resident", "active", None, p),
        ("R4", "赵六", None, None, None, None, None, "active", None, p),
        ("R5", "钱七", None, None, None, None, None, "active", None, p),
    ], [("police:1", "R1"), ("police:2", "R2"), ("labour:2", "R2"), ("police:3", "R3"), ("labour:4", "R4"),
        ("labour:5", "R5")])
    _release(con, "main", [
        ("R1", "张三", ID_1, "天河路1号", "13800138000", "H1", "resident", "active", None, p),
        ("R2", "李四", None, "黄埔大道9号", None, None, "resident", "active", None,
         _prov(name="police:2", address="police:2")),
        ("R3", "王五", None, "体育西路3号", None, None, "resident", "deceased", "2026-11-01", p),
        ("R6", "李四", None, None, None, None, None, "active", None, _prov(name="labour:2")),
    ], [("police:1", "R1"), ("labour:4", "R1"), ("police:2", "R2"), ("labour:2", "R6"), ("police:3", "R3")])
    con.execute("CREATE TABLE source_records (record_uid VARCHAR, source VARCHAR, status VARCHAR)").fetchall()
    con.executemany("INSERT INTO source_records VALUES (?, ?, ?)",
                    [("police:3", "police", "deceased"), ("police:1", "police", "active")])
    rows = con.execute(change_events_sql("prev", "2026-11-21")).fetchall()
    return {(r[0], r[1]): r for r in rows}


def test_each_kind_of_change_is_one_event(events):
    assert set(events) == {("R2", "address_changed"), ("R3", "deceased"), ("R4", "resident_merged"),
                           ("R5", "resident_removed"), ("R6", "new_resident")}
    assert all(str(r[2]) == "2026-11-21" for r in events.values())


def test_events_name_the_department_and_the_detail(events):
    assert events[("R2", "address_changed")][3] == "police"
    assert events[("R3", "deceased")][3] == "police"
    assert json.loads(events[("R3", "deceased")][4])["status_date"] == "2026-11-01"
    assert json.loads(events[("R4", "resident_merged")][4]) == {"into": "R1"}
    assert json.loads(events[("R5", "resident_removed")][4]) == {"into": None}
    assert json.loads(events[("R6", "new_resident")][4]) == {"split_from": ["R2"]}
    assert events[("R4", "resident_merged")][3] is None


def test_details_are_masked(events):
    detail = json.loads(events[("R2", "address_changed")][4])
    assert "中山大道" not in detail["from"] and "黄埔大道" not in detail["to"]
    assert detail["from"].startswith("中") and "*" in detail["to"]
    assert not any(re.search(r"\d{6,}", r[4] or "") for r in events.values())
