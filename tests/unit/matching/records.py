"""Build standard person-records for tests the way ingest would (names and IDs through the
real normalisers), load them into DuckDB, and read each comparison's level for pairs of them."""

from __future__ import annotations

import datetime as dt
import json

from shiyou.matching import blocking, comparisons
from shiyou.matching.model import MatchingConfig
from shiyou.standard.id_number import check_char, normalise_id
from shiyou.standard.names import normalise_name

TYPES = {"birth_date": "DATE", "id_birth_date": "DATE", "id_valid": "BOOLEAN", "attributes": "JSON",
         "line_no": "BIGINT", "snapshot_date": "DATE"}


def make_id(division: str = "440106", birth: str = "19850314", seq: str = "123") -> str:
    """A valid 18-character ID (GB 11643 check computed)."""
    first17 = division + birth + seq
    return first17 + check_char(first17)


def record(uid: str, name: str | None = "张伟", id_number: str | None = None, birth: str | None = None,
           sex: str | None = None, phone: str | None = None, address: tuple | None = None,
           former_name: str | None = None, household_id: str | None = None, address_code: str | None = None,
           relation_to_head: str | None = None, role: str | None = None, id_type: str | None = None,
           source: str = "test", line_no: int | None = None, street: str | None = None,
           estate: str | None = None) -> dict:
    """One standard record. ``birth`` 'YYYY-MM-DD' (day) or 'YYYY-MM' (month only);
    ``address`` (road, door number, building, room)."""
    r: dict = {"record_uid": uid, "source": source, "file": f"{source}.csv", "line_no": line_no or 1}
    r.update(normalise_name(name) if name is not None else {})
    r["name_norm"] = r.get("name_norm")
    if former_name:
        r["former_name"] = former_name
        r["former_name_key"] = normalise_name(former_name)["name_key"]
    if id_number is not None:
        res = normalise_id(id_number)
        r["id_number"], r["id_status"] = res.id_number, res.status
        r["id_type"] = id_type or "resident_id"
        if res.id_number is None and res.status == "malformed":
            r["id_number"], r["id_status"] = id_number, "not_resident_id"
        num = r["id_number"] or ""
        r["id_valid"] = res.status in ("valid", "upgraded_15", "check_completed")
        if len(num) == 18 and r["id_status"] != "not_resident_id":
            try:
                r["id_birth_date"] = dt.date(int(num[6:10]), int(num[10:12]), int(num[12:14]))
                r["id_sex"] = "1" if int(num[16]) % 2 else "2"
            except ValueError:
                pass
    else:
        r["id_status"], r["id_valid"] = "missing", False
    if birth:
        r["birth_year_month"] = birth[:7]
        if len(birth) == 10:
            r["birth_date"] = dt.date.fromisoformat(birth)
            r["birth_date_precision"] = "day"
        else:
            r["birth_date_precision"] = "month"
    r["sex"] = sex
    r["phone"] = phone
    if address:
        road, door, building, room = address
        r.update(address_road=road, address_door_number=door, address_building=building, address_room=room,
                 address_key="|".join(x or "" for x in address))
    r.update(address_street=street, address_estate=estate, former_name=former_name, household_id=household_id,
             address_code=address_code, relation_to_head=relation_to_head)
    if role:
        r["attributes"] = json.dumps({"role": role})
    return r


def load(con, cfg: MatchingConfig, rows: list[dict], table: str = "source_records") -> None:
    """A source_records-like table holding exactly the columns the matcher reads."""
    cols = ["record_uid", *cfg.base_columns()]
    ddl = ", ".join(f'"{c}" {TYPES.get(c, "VARCHAR")}' for c in cols)
    con.execute(f"CREATE OR REPLACE TABLE {table} ({ddl})").fetchall()
    if rows:
        con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in cols)})",
                        [[r.get(c) for c in cols] for r in rows])


def levels(con, cfg: MatchingConfig, pairs: list[tuple[dict, dict]], context: list[dict] = ()) -> list[dict[str, str]]:
    """For each (left, right) record pair, {comparison: level label}, through the real gamma SQL.

    ``context`` records are loaded too (they count in term frequencies) but not compared.
    A record may name the blocking rules that paired it in ``_via`` (``blocked_by`` levels).
    """
    rows = []
    for i, (left, right) in enumerate(pairs):
        rows += [{**left, "record_uid": f"L{i:04d}"}, {**right, "record_uid": f"R{i:04d}"}]
    load(con, cfg, rows + list(context))
    tables = blocking.Tables()
    blocking.run(con, f"CREATE OR REPLACE TABLE match_records AS {blocking.records_sql(cfg, tables)}")
    bit = {r.name: 1 << i for i, r in enumerate(cfg.blocking)}
    con.execute("CREATE OR REPLACE TEMP TABLE test_pairs (uid_l VARCHAR, uid_r VARCHAR, rules BIGINT)").fetchall()
    con.executemany("INSERT INTO test_pairs VALUES (?, ?, ?)",
                    [[f"L{i:04d}", f"R{i:04d}", sum(bit[n] for n in (left.get("_via") or right.get("_via") or []))]
                     for i, (left, right) in enumerate(pairs)])
    # The matcher's pairs are keyed by record_no (the record's place in record_uid order).
    con.execute("CREATE OR REPLACE TABLE match_pairs AS SELECT l.record_no AS record_no_l, r.record_no AS record_no_r, "
                "'test' AS rule, p.rules FROM test_pairs p JOIN match_records l ON l.record_uid = p.uid_l "
                "JOIN match_records r ON r.record_uid = p.uid_r").fetchall()
    from shiyou.matching import similarity

    similarity.register(con)
    out = con.execute(f"SELECT * FROM ({comparisons.gamma_sql(cfg, tables)}) ORDER BY record_no_l").fetchall()
    names = [d[0] for d in con.description]
    result = []
    for row in out:
        got = dict(zip(names, row))
        result.append({c.name: c.level_labels()[got[c.column]] for c in cfg.comparisons})
    return result
