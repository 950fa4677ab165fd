"""Onboarding a sixth department is a contract file, not code: proved with a made-up housing bureau."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb

from tests.files import write_csv
from tests.pipeline.landing import make_day, run_sync_process

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 20)

HOUSING = """
source: housing
label: 住建 保障性住房
description: Tenants of public rental housing (made up for this test).
file:
  pattern: "zhufang_{yyyymmdd}.csv"
  format: csv
  encoding: gb18030
  delimiter: ";"
record_key: 合同号
constants:
  id_type: resident_id
columns:
  承租人: {field: name}
  证件号: {field: id_number}
  性别: {field: sex, values: {M: "1", F: "2"}}
  生日: {field: birth_date, formats: ["%d.%m.%Y"]}
  房源地址: {field: address}
  电话: {field: phone}
  租金: {field: attributes.rent}
"""


def test_new_contract_file_is_all_a_new_department_needs(tmp_path):
    sources = tmp_path / "sources"
    shutil.copytree(ROOT / "schemas" / "sources", sources)
    (sources / "housing.yaml").write_text(HOUSING, encoding="utf-8")
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, DAY, sources=["police"])
    write_csv(landing / "housing" / DAY.isoformat() / "zhufang_20261120.csv",
              ["合同号", "承租人", "证件号", "性别", "生日", "房源地址", "电话", "租金"],
              [["HT1", "黃小明", "440106198801010017", "M", "01.01.1988", "天河路1号三栋502房", "13800138000", "1200"],
               ["HT2", "", "", "F", "31.02.1990", "", "", "900"]],
              encoding="gb18030", delimiter=";")
    env = {**os.environ, "SHIYOU_SOURCES_DIR": str(sources)}
    proc = run_sync_process(landing, wh, env=env)
    assert proc.returncode == 0, proc.stderr
    assert any(line.split()[:2] == ["housing", "loaded"] for line in proc.stdout.splitlines())
    with duckdb.connect(str(wh / "shiyou.duckdb"), read_only=True) as con:
        rec = con.execute("""SELECT record_id, name_key, sex, birth_date, id_status, address_building,
                             attributes->>'rent' FROM source_records WHERE source = 'housing'""").fetchall()
        quar = con.execute("SELECT line_no, rule FROM quarantine WHERE source = 'housing'").fetchall()
        dl = con.execute("SELECT rows_read, rows_loaded, rows_quarantined FROM deliveries WHERE source = 'housing'").fetchall()
    assert rec == [("HT1", "黄小明", "1", dt.date(1988, 1, 1), "valid", "3", "1200")]
    assert quar == [(3, "name_missing")] and dl == [(2, 1, 1)]


def test_onboarding_into_an_existing_warehouse(tmp_path):
    """The warehouse was published before the contract existed; the new source has no file yet."""
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, DAY, sources=["police"])
    first = run_sync_process(landing, wh)
    assert first.returncode == 0, first.stderr
    sources = tmp_path / "sources"
    shutil.copytree(ROOT / "schemas" / "sources", sources)
    (sources / "housing.yaml").write_text(HOUSING, encoding="utf-8")
    make_day(landing, DAY + dt.timedelta(days=1), sources=["police"], n=4)
    env = {**os.environ, "SHIYOU_SOURCES_DIR": str(sources)}
    proc = run_sync_process(landing, wh, env=env)
    assert proc.returncode == 0, proc.stderr
    assert any(line.split()[:2] == ["housing", "none"] for line in proc.stdout.splitlines())
    with duckdb.connect(str(wh / "shiyou.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM source_records_housing").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM source_records WHERE source = 'police'").fetchone()[0] == 4
