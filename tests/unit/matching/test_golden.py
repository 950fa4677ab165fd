"""Survivorship (golden.py) on hand-made clusters: which record supplies a field, and that a
resident's golden record does not change just because one department delivered a day later."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from shiyou.matching import golden

COLUMNS = {"record_uid": "VARCHAR", "source": "VARCHAR", "snapshot_date": "DATE", "name_norm": "VARCHAR",
           "id_number": "VARCHAR", "id_type": "VARCHAR", "id_valid": "BOOLEAN", "id_birth_date": "DATE",
           "sex": "VARCHAR", "birth_date": "DATE", "population_type": "VARCHAR", "address": "VARCHAR",
           "address_code": "VARCHAR", "household_id": "VARCHAR", "phone": "VARCHAR", "phone_type": "VARCHAR",
           "registered_on": "DATE", "registration_cancelled": "BOOLEAN", "status": "VARCHAR",
           "status_date": "DATE"}
TODAY = dt.date(2026, 11, 21)


def _record(uid: str, source: str, phone: str, registered_on: dt.date | None,
            snapshot: dt.date = TODAY, phone_type: str = "mobile") -> dict:
    return {"record_uid": uid, "source": source, "snapshot_date": snapshot, "name_norm": "张伟",
            "phone": phone, "phone_type": phone_type, "registered_on": registered_on}


def _connect(records: list[dict], one_cluster: bool = True) -> duckdb.DuckDBPyConnection:
    """match_golden_records of ``records``: all in one cluster, or each in a cluster of its own."""
    con = duckdb.connect()
    con.execute("CREATE TABLE source_records (" + ", ".join(f"{c} {t}" for c, t in COLUMNS.items()) + ")")
    con.executemany(f"INSERT INTO source_records VALUES ({', '.join('?' for _ in COLUMNS)})",
                    [[r.get(c) for c in COLUMNS] for r in records])
    cluster = "1" if one_cluster else "row_number() OVER (ORDER BY record_uid)"
    size = "count(*) OVER ()" if one_cluster else "1"
    con.execute("CREATE TABLE match_clusters AS SELECT record_uid, row_number() OVER (ORDER BY record_uid) "
                f"AS record_no, {cluster} AS cluster_no, CAST(NULL AS VARCHAR) AS id_anchor, "
                f"{size} AS cluster_records FROM source_records")
    con.execute(f"CREATE TABLE match_golden_records AS {golden.golden_records_sql()}")
    return con


def _golden(records: list[dict], sources: list[str] | None = None) -> dict:
    """The golden record of one cluster holding ``records`` (through the real SQL)."""
    con = _connect(records)
    row = con.execute(golden.golden_sql(sources=sources)).fetchall()
    assert len(row) == 1
    out = dict(zip([d[0] for d in con.description], row[0]))
    out["provenance"] = json.loads(out["provenance"])
    return out


def test_a_resident_of_one_record_takes_what_the_windows_would_choose():
    """Clusters of one record skip the per-field windows: each field must still be exactly what
    the window would pick (the record's value where the field's condition allows it, else
    nothing), with the same provenance."""
    base = {"snapshot_date": TODAY, "name_norm": "张伟", "id_type": "resident_id", "id_valid": True,
            "id_number": "440106199001011234", "sex": "1", "birth_date": dt.date(1990, 1, 1),
            "population_type": "registered", "address": "天河路1号", "address_code": "A1",
            "household_id": "H1", "phone": "13800000001", "phone_type": "mobile",
            "registered_on": dt.date(2015, 3, 1), "registration_cancelled": False}
    variants = [{}, {"id_valid": False}, {"id_type": "passport"}, {"sex": "9"}, {"phone": None},
                {"registration_cancelled": True, "status": "deceased", "status_date": dt.date(2026, 1, 2)},
                {"name_norm": None, "address": None, "birth_date": None}]
    records = [{**base, **v, "record_uid": f"police:{i}", "source": "police"} for i, v in enumerate(variants)]
    con = _connect(records, one_cluster=False)
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT cluster_no, " + ", ".join(f.name for f in golden.FIELDS) + ", provenance "
        f"FROM ({golden.golden_sql()})").fetchall()}
    assert len(got) == len(variants)
    assert got[2][0] is None and got[4][2] is None and got[5][-2] is None  # id, sex, phone held back
    for i, f in enumerate(golden.FIELDS):
        chosen = dict.fromkeys(got)
        chosen.update({c: (v, uid) for c, v, uid in con.execute(
            golden._winner_sql(f, "match_golden_records")).fetchall()})
        for cluster_no, row in got.items():
            provenance = json.loads(row[-1])[f.name]
            assert (row[i], provenance) == (chosen[cluster_no] or (None, None)), (f.name, cluster_no)


@pytest.mark.parametrize("sources", [None, ["civil_affairs", "labour", "police"],
                                     [f"extra_{i:02d}" for i in range(golden.MASKED_SOURCES_MAX)] + ["labour",
                                                                                                 "police"]],
                         ids=["default", "present only", "too many for a mask"])
def test_sources_lists_each_source_of_the_resident_once_in_order(sources):
    g = _golden([_record("police:1", "police", "13800000001", None),
                 _record("labour:2", "labour", "13800000002", None),
                 _record("police:3", "police", "13800000003", None),
                 _record("labour:1", "labour", "13800000004", None)], sources=sources)
    assert g["sources"] == ["labour", "police"] and g["records"] == 4


def test_phone_of_the_latest_registration_mobiles_first():
    g = _golden([_record("police:1", "police", "13800000001", dt.date(2015, 3, 1)),
                 _record("labour:1", "labour", "13800000002", dt.date(2019, 6, 1)),
                 _record("labour:2", "labour", "02081234567", dt.date(2019, 6, 1), phone_type="landline"),
                 _record("social_security:1", "social_security", "13800000003", None)])
    assert g["phone"] == "13800000002" and g["provenance"]["phone"] == "labour:1"


@pytest.mark.parametrize("late", ["police", "labour"])
def test_a_department_a_day_late_does_not_change_the_phone(late):
    """Each night a department may deliver a day late (its snapshot is yesterday's): the phone
    must not flip with it. It used to: the newest snapshot won first."""
    def records(late_source):
        return [_record(f"{s}:1", s, phone, reg, snapshot=TODAY - dt.timedelta(days=s == late_source))
                for s, phone, reg in (("police", "13800000001", dt.date(2015, 3, 1)),
                                      ("labour", "13800000002", dt.date(2019, 6, 1)))]
    assert _golden(records(late))["phone"] == _golden(records(None))["phone"] == "13800000002"


@pytest.mark.parametrize("days_older, winner", [(golden.STALE_AFTER_DAYS, "labour:1"),
                                                (golden.STALE_AFTER_DAYS + 1, "police:1")])
def test_a_stale_source_loses_the_phone(days_older, winner):
    old = TODAY - dt.timedelta(days=days_older)
    g = _golden([_record("police:1", "police", "13800000001", dt.date(2015, 3, 1)),
                 _record("labour:1", "labour", "13800000002", dt.date(2019, 6, 1), snapshot=old)])
    assert g["provenance"]["phone"] == winner
