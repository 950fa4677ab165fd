"""The sample district synced end to end: residents, resident_xref, review queue, explain, stable IDs."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys

import duckdb
import pytest

from shiyou import cli
from tests.conftest import SAMPLES
from tests.pipeline.landing import redeliver_shorter

SAMPLE_DAY, NEXT_DAY = dt.date(2026, 11, 20), dt.date(2026, 11, 21)

FULL_ID = re.compile(r"\d{17}[\dXx]")


@pytest.fixture(scope="module")
def synced(sample_warehouse):
    wh = sample_warehouse
    con = duckdb.connect(str(wh / "shiyou.duckdb"), read_only=True)
    con.execute("CREATE TEMP TABLE truth AS SELECT source || ':' || record_id AS record_uid, person_id "
                "FROM read_csv(?, all_varchar = true)", [str(SAMPLES / "truth" / "truth.csv")]).fetchall()
    con.execute("CREATE TEMP TABLE persons AS SELECT * FROM read_csv(?, all_varchar = true)",
                [str(SAMPLES / "truth" / "persons.csv")]).fetchall()
    yield wh, con
    con.close()


def test_every_loaded_record_is_in_resident_xref_exactly_once(synced):
    _, con = synced
    assert con.execute("SELECT count(*), count(DISTINCT record_uid) FROM resident_xref").fetchall()[0] == \
        con.execute("SELECT count(*), count(*) FROM source_records").fetchall()[0]
    assert con.execute("SELECT count(*) FROM resident_xref x ANTI JOIN residents USING (resident_id)"
                       ).fetchall()[0][0] == 0
    # family planning: once per person on the row
    assert con.execute("SELECT count(*) FROM resident_xref WHERE record_id LIKE '%-M'").fetchall()[0][0] > 0


def test_published_rows_are_in_a_fixed_order(synced):
    """The same input gives the same files: resident_xref by record_uid (source, then record
    key), residents in the order of their first record (the smallest record_uid of each)."""
    _, con = synced
    rows = [r[0] for r in con.execute("SELECT record_uid FROM resident_xref").fetchall()]
    assert rows == sorted(rows)
    firsts = [r[0] for r in con.execute(
        "SELECT f.first FROM residents AS r JOIN (SELECT resident_id, min(record_uid) AS first FROM resident_xref "
        "GROUP BY resident_id) AS f USING (resident_id) ORDER BY r.rowid").fetchall()]
    assert len(firsts) == con.execute("SELECT count(*) FROM residents").fetchall()[0][0]
    assert firsts == sorted(firsts)
    sources = [r[0] for r in con.execute("SELECT source FROM resident_xref").fetchall()]
    assert sources == sorted(sources)


def test_one_resident_per_real_person(synced):
    """Residents against the truth: nearly every person is one resident and no resident is two people."""
    _, con = synced
    persons, residents, merged, split = con.execute(
        "WITH j AS (SELECT t.person_id, x.resident_id FROM truth t JOIN resident_xref x USING (record_uid)) "
        "SELECT (SELECT count(DISTINCT person_id) FROM j), (SELECT count(DISTINCT resident_id) FROM j), "
        "(SELECT count(*) FROM (SELECT resident_id FROM j GROUP BY 1 HAVING count(DISTINCT person_id) > 1)), "
        "(SELECT count(*) FROM (SELECT person_id FROM j GROUP BY 1 HAVING count(DISTINCT resident_id) > 1))"
    ).fetchall()[0]
    assert abs(residents - persons) <= 0.005 * persons
    assert merged <= 3 and split <= 5, (merged, split)


def test_hard_cases_stay_apart(synced):
    """Twins and same-name, same-birthday neighbours are never one resident."""
    _, con = synced
    for flag in ("twin", "same_name_neighbour"):
        bad = con.execute(
            "SELECT count(*) FROM (SELECT x.resident_id FROM truth t JOIN resident_xref x USING (record_uid) "
            "JOIN persons p USING (person_id) WHERE p.flags LIKE '%' || ? || '%' AND x.record_id NOT LIKE '%-M' "
            "AND x.source <> 'social_security' "
            "GROUP BY 1 HAVING count(DISTINCT p.person_id) > 1)", [flag]).fetchall()[0][0]
        assert bad == 0, flag


def test_golden_record_status_and_provenance(synced):
    _, con = synced
    # Deceased people (police cancellation or civil affairs) are found with a date.
    found, dead = con.execute(
        "WITH d AS (SELECT person_id FROM persons WHERE status = 'deceased'), "
        "r AS (SELECT DISTINCT t.person_id, x.resident_id FROM truth t JOIN resident_xref x USING (record_uid) "
        "JOIN d USING (person_id)) "
        "SELECT count(*) FILTER (WHERE s.status = 'deceased' AND s.status_date IS NOT NULL), count(*) "
        "FROM r JOIN residents s USING (resident_id)").fetchall()[0]
    assert dead > 0 and found / dead >= 0.9
    prov = json.loads(con.execute("SELECT provenance FROM residents WHERE id_number IS NOT NULL LIMIT 1"
                                  ).fetchall()[0][0])
    src = prov["id_number"]
    assert con.execute("SELECT count(*) FROM source_records WHERE record_uid = ?", [src]).fetchall()[0][0] == 1
    # A resident's ID is a valid 18-character number.
    assert con.execute("SELECT count(*) FROM residents WHERE id_number IS NOT NULL AND length(id_number) <> 18"
                       ).fetchall()[0][0] == 0


def test_review_queue_is_masked_and_explained(synced):
    _, con = synced
    rows = con.execute("SELECT * FROM review_queue").fetchall()
    assert rows
    cols = [d[0] for d in con.description]
    for row in rows:
        text = " ".join(str(v) for v in row)
        assert not FULL_ID.search(text)
        explanation = json.loads(row[cols.index("explanation")])
        assert {"id", "name", "birth_date"} <= set(explanation)
        assert all(set(v) == {"level", "weight"} for v in explanation.values())
    # The queue's text is the links' levels (a STRUCT analysts can query field by field).
    weight, level, text = con.execute(
        "SELECT k.levels.name.weight, k.levels.name.level, q.explanation FROM review_queue q "
        "JOIN resident_xref xl ON xl.resident_id = q.resident_id_l AND xl.record_id = q.record_id_l "
        "AND xl.source = q.source_l JOIN resident_xref xr ON xr.resident_id = q.resident_id_r "
        "AND xr.record_id = q.record_id_r AND xr.source = q.source_r JOIN match_links k "
        "ON k.record_uid_l = xl.record_uid AND k.record_uid_r = xr.record_uid ORDER BY q.review_no LIMIT 1"
    ).fetchall()[0]
    assert json.loads(text)["name"] == {"level": level, "weight": weight}


def test_match_model_and_statistics_are_published(synced):
    wh, con = synced
    model = json.loads((wh / "current" / "match_model.json").read_text(encoding="utf-8"))
    assert {c["name"] for c in model["comparisons"]} >= {"id", "name", "phone"}
    kinds = {k for (k,) in con.execute("SELECT DISTINCT kind FROM match_statistics").fetchall()}
    assert {"blocking_rule", "cluster_size", "source_overlap", "decision"} <= kinds
    assert (wh / "parquet" / "residents" / "data.parquet").exists()


def test_explain_shows_links_masked(synced):
    wh, con = synced
    uid, rid = con.execute("SELECT x.record_uid, x.resident_id FROM resident_xref x JOIN residents r "
                           "USING (resident_id) WHERE r.records >= 3 ORDER BY 1 LIMIT 1").fetchall()[0]
    # stdout a pipe and buffered, as under cron: the command's quick exit (cli.entry) must flush it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    out = subprocess.run([sys.executable, "-m", "shiyou.cli", "explain", "--warehouse", str(wh), uid],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert rid in out.stdout and "links that make this resident" in out.stdout and "bits" in out.stdout
    assert re.search(r"\bname=\w+ \([+-]\d+\.\d\)", out.stdout)  # each link's levels and weights
    assert not FULL_ID.search(out.stdout)
    bad = subprocess.run([sys.executable, "-m", "shiyou.cli", "explain", "--warehouse", str(wh), "no-such"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "no resident or record" in bad.stderr and "Traceback" not in bad.stderr


def test_explain_reads_levels_published_as_json_text_before_they_were_a_struct():
    from shiyou.explain import _levels

    levels = {"id": {"level": "exact", "weight": 9.05}, "household": {"level": None, "weight": 0.0}}
    assert _levels(json.dumps(levels)) == _levels(levels) == ["id=exact (+9.1)"]


def test_resident_ids_are_stable_when_a_source_is_delivered_again(synced, tmp_path):
    """A second sync with one source re-delivered (changed) keeps every unchanged resident's ID."""
    wh, con = synced
    before = dict(con.execute("SELECT record_uid, resident_id FROM resident_xref").fetchall())
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLES / "landing", landing)
    wh2 = tmp_path / "warehouse"
    shutil.copytree(wh, wh2, symlinks=True)
    redeliver_shorter(landing, "labour", SAMPLE_DAY, NEXT_DAY)  # the next day, its last line dropped
    code, lines = cli.run_sync(landing, wh2, None)
    assert code == cli.EXIT_OK, lines
    con2 = duckdb.connect(str(wh2 / "shiyou.duckdb"), read_only=True)
    after = dict(con2.execute("SELECT record_uid, resident_id FROM resident_xref").fetchall())
    events = con2.execute("SELECT resident_id, event_type, detected_on, source, detail FROM change_events").fetchall()
    con2.close()
    same = sum(1 for uid, rid in after.items() if before.get(uid) == rid)
    assert same >= 0.995 * len(after)

    # change_events: nothing on the first sync; then every resident that appeared or went is one event.
    assert con.execute("SELECT count(*) FROM change_events").fetchall()[0][0] == 0
    old_ids, new_ids = set(before.values()), set(after.values())
    by_type: dict[str, set] = {}
    for rid, kind, day, _source, detail in events:
        by_type.setdefault(kind, set()).add(rid)
        assert str(day) == "2026-11-21" and not FULL_ID.search(detail or "")
    assert by_type.get("new_resident", set()) == new_ids - old_ids
    assert by_type.get("resident_removed", set()) | by_type.get("resident_merged", set()) == old_ids - new_ids
    assert events, "dropping a delivered line changes at least one resident"

    # The second sync scored with the first one's model (same config, code and sources, a day
    # old): the same weights, so no pair flips on model noise, and it says so.
    first = json.loads((wh / "current" / "match_model.json").read_text(encoding="utf-8"))
    second = json.loads((wh2 / "current" / "match_model.json").read_text(encoding="utf-8"))
    assert first["trained_on"] == second["trained_on"] == "2026-11-20" and first["fingerprint"] == second["fingerprint"]
    assert first["comparisons"] == second["comparisons"]
    with duckdb.connect(str(wh2 / "shiyou.duckdb"), read_only=True) as con2:
        assert con2.execute("SELECT key, value FROM match_statistics WHERE kind = 'model'").fetchall() == [("reused", 1)]


def test_shiyou_retrain_trains_a_new_model(synced, tmp_path, monkeypatch):
    wh, _ = synced
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLES / "landing", landing)
    redeliver_shorter(landing, "labour", SAMPLE_DAY, NEXT_DAY)
    wh2 = tmp_path / "warehouse"
    shutil.copytree(wh, wh2, symlinks=True)
    monkeypatch.setenv("SHIYOU_RETRAIN", "1")
    code, lines = cli.run_sync(landing, wh2, None)
    assert code == cli.EXIT_OK, lines
    model = json.loads((wh2 / "current" / "match_model.json").read_text(encoding="utf-8"))
    assert model["trained_on"] == "2026-11-21"
    with duckdb.connect(str(wh2 / "shiyou.duckdb"), read_only=True) as con2:
        assert con2.execute("SELECT key, value FROM match_statistics WHERE kind = 'model'").fetchall() == [("trained", 0)]
