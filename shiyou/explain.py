"""`shiyou explain --warehouse DIR RECORD_OR_RESIDENT`: why records are one resident (or not).

Reads the published warehouse read-only and prints, masked: the resident's golden
record with where each value came from, its source records, every link that joined
them (each comparison's level and weight, and the total), and the pairs touching its
records that were sent to review or cut by a cannot-link rule. The argument is a
resident_id (R…), a record_uid (source:record_id) or a bare record_id.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from shiyou.standard.masking import mask_free_text, mask_id, mask_name, mask_phone
from shiyou.warehouse import publish as pub


class ExplainError(Exception):
    """Nothing to explain: no warehouse, or the argument names no record or resident."""


def _resident_of(con, key: str) -> str:
    row = con.execute("SELECT resident_id FROM residents WHERE resident_id = ?", [key]).fetchall()
    if row:
        return row[0][0]
    row = con.execute("SELECT resident_id FROM resident_xref WHERE record_uid = ? OR record_id = ? LIMIT 2",
                      [key, key]).fetchall()
    if len(row) == 1:
        return row[0][0]
    if len(row) > 1:
        raise ExplainError(f"record_id {key!r} exists in more than one source: give it as source:record_id")
    raise ExplainError(f"no resident or record {key!r} in the published warehouse")


def _levels(levels: dict | str) -> list[str]:
    """One pair's levels (match_links.levels: comparison -> {level, weight}) as short text.
    A release published before levels became a STRUCT holds the same as JSON text."""
    if isinstance(levels, str):
        levels = json.loads(levels)
    out = []
    for comp, v in levels.items():
        if v["level"] is None:
            continue
        out.append(f"{comp}={v['level']} ({v['weight']:+.1f})")
    return out


def explain(warehouse: Path, key: str) -> list[str]:
    db = pub.published_db(warehouse)
    if db is None:
        raise ExplainError(f"no published warehouse in {warehouse}")
    con = duckdb.connect(str(db), read_only=True)
    try:
        rid = _resident_of(con, key)
        res = con.execute("SELECT * FROM residents WHERE resident_id = ?", [rid]).fetchall()
        cols = [d[0] for d in con.description]
        r = dict(zip(cols, res[0]))
        prov = json.loads(r["provenance"] or "{}")
        lines = [f"resident {rid}: {r['status']}" + (f" since {r['status_date']}" if r["status_date"] else "")
                 + f", {r['records']} source records ({', '.join(r['sources'])})"]
        shown = {"id_number": mask_id(r["id_number"]), "name": mask_name(r["name"]), "sex": r["sex"],
                 "birth_date": r["birth_date"].year if r["birth_date"] else None,
                 "population_type": r["population_type"], "address": mask_free_text(r["address"]),
                 "phone": mask_phone(r["phone"])}
        for f, v in shown.items():
            lines.append(f"  {f:<16} {v if v is not None else '-':<24} from {prov.get(f) or '-'}")
        lines.append("records:")
        recs = con.execute(
            "SELECT x.record_uid, x.match_score, s.name_norm, s.id_number, s.id_status, year(s.birth_date), "
            "s.snapshot_date FROM resident_xref x JOIN source_records s USING (record_uid) "
            "WHERE x.resident_id = ? ORDER BY x.record_uid", [rid]).fetchall()
        uids = [u for u, *_ in recs]
        for uid, score, name, idn, ids, year, snap in recs:
            mark = "*" if uid == key or uid.split(":", 1)[-1] == key else " "
            score_s = f"{score:.4f}" if score is not None else "alone"
            lines.append(f" {mark}{uid:<34} {mask_name(name) or '-':<6} {mask_id(idn) or '-':<20} "
                         f"{ids:<16} born {year or '-':<6} score {score_s}")
        links = con.execute(
            "SELECT record_uid_l, record_uid_r, rule, match_weight, match_probability, decision, cut_by, "
            "same_resident, levels FROM match_links WHERE record_uid_l IN (SELECT unnest(?::VARCHAR[])) "
            "OR record_uid_r IN (SELECT unnest(?::VARCHAR[])) ORDER BY same_resident DESC, match_weight DESC",
            [uids, uids]).fetchall()
        inside = [k for k in links if k[7] and k[5] == "match" and k[6] is None]
        other = [k for k in links if k not in inside]
        lines.append(f"links that make this resident ({len(inside)}):")
        for left, right, rule, w, p, _d, _c, _s, lv in inside:
            lines.append(f"  {left} = {right}  total {w:+.1f} bits (p={p:.6f}, found by {rule})")
            lines.append("      " + ", ".join(_levels(lv)))
        if other:
            lines.append(f"pairs not linked ({len(other)}): review band or cut by a cannot-link rule")
            for left, right, rule, w, p, d, cut, same, lv in other:
                why = f"cut by {cut}" if cut else d
                lines.append(f"  {left} ? {right}  total {w:+.1f} bits ({why}; same resident: {bool(same)})")
                lines.append("      " + ", ".join(_levels(lv)))
        return lines
    finally:
        con.close()
