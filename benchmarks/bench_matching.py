"""Benchmark: resident matching quality and speed — shiyou, exact-ID matching and Splink 5.

    python benchmarks/bench_matching.py --residents 100000 [--dirt 1] [--splink] [--seed 7]

1. Generates the district once (cached under .bench/, as bench_ingest.py) and runs the
   real `shiyou sync` on a fresh warehouse in a child process: wall time and peak RSS of
   the whole sync (ingest + standardise + match + publish).
   ``--second-night``: then a nightly sync on a copy of that warehouse (the next day's files,
   a line less each, the xlsx unchanged): its time and the change events it records.
2. Re-runs shiyou's linking step alone (blocking, comparisons, training, scoring,
   clustering, golden records) in-process on a copy of the published database, timed.
3. Scores residents against the generator's truth: pairwise precision / recall / F1 over
   every pair of records put in one resident, active-resident count error, deceased recall.
4. The same pairwise figures for exact normalised-ID matching, and (``--splink``) for
   Splink 5 fed the same standardised records (benchmarks/splink_baseline.py, its own
   venv .venv-splink: see that file), with Splink's own linking time.

Results: a Markdown table on stdout and a JSON line in .bench/matching.jsonl.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.bench_ingest import BENCH, ensure_district, run_sync  # noqa: E402
import shiyou  # noqa: E402,F401  (sets DuckDB's allocator options for the processes started here)

SPLINK_PY = ROOT / ".venv-splink" / "bin" / "python"
SPLINK_COLUMNS = ("record_uid, source, name_norm, name_key, name_pinyin, name_pinyin_fuzzy, former_name_key, "
                  "id_number, id_status, id_valid, birth_date, birth_year_month, sex, phone, address_norm, "
                  "address_key, address_road, address_door_number, address_building, address_room, "
                  "address_street, household_id")


def linking_alone(warehouse: Path) -> dict[str, float]:
    """shiyou's linking on a copy of the published database (source tables already standardised)."""
    from shiyou.matching.resolve import PUBLISHED, resolve_residents
    from shiyou.sync import apply_duckdb_settings

    copy = BENCH / "linking.duckdb"
    shutil.copyfile(warehouse / "shiyou.duckdb", copy)
    con = duckdb.connect(str(copy))
    apply_duckdb_settings(con)  # as the sync's release connection
    for t in PUBLISHED:
        con.execute(f"DROP TABLE IF EXISTS {t}").fetchall()
    t0 = time.perf_counter()
    rep = resolve_residents(con)
    total = time.perf_counter() - t0
    con.close()
    copy.unlink()
    return {"total": round(total, 2), **rep.seconds}


def second_night(district: Path, warehouse: Path, date: str) -> dict:
    """A nightly sync on the published warehouse: the next day's deliveries, each text file one
    line shorter (so it is a new file), the xlsx unchanged (that source keeps its snapshot).
    Wall time, peak RSS, the change events it records and whether the model was reused."""
    nxt = (dt.date.fromisoformat(date) + dt.timedelta(days=1)).isoformat()
    work = BENCH / "second-night"
    shutil.rmtree(work, ignore_errors=True)
    for f in (district / "landing").glob(f"*/{date}/*"):
        target = work / "landing" / f.parent.parent.name / nxt / f.name.replace(date.replace("-", ""),
                                                                                   nxt.replace("-", ""))
        target.parent.mkdir(parents=True, exist_ok=True)
        if f.suffix == ".xlsx":
            shutil.copyfile(f, target)
        else:
            target.write_bytes(f.read_bytes().rstrip(b"\r\n").rsplit(b"\n", 1)[0] + b"\n")
    wh = work / "warehouse"
    shutil.copytree(warehouse, wh, symlinks=True)
    wall, rss, _ = run_sync(work / "landing", wh, fresh=False)
    with duckdb.connect(str(wh / "shiyou.duckdb"), read_only=True) as con:
        events = dict(con.execute("SELECT event_type, count(*) FROM change_events GROUP BY 1 ORDER BY 1").fetchall())
        model = con.execute("SELECT key FROM match_statistics WHERE kind = 'model'").fetchall()
    shutil.rmtree(work, ignore_errors=True)
    return {"seconds": round(wall, 1), "peak_gb": round(rss, 2), "change_events": events,
            "model": model[0][0] if model else None}


def load_truth(con, truth: Path) -> None:
    con.execute("CREATE OR REPLACE TABLE truth AS SELECT source || ':' || record_id AS record_uid, person_id "
                "FROM read_csv(?, all_varchar = true)", [str(truth / "truth.csv")]).fetchall()
    con.execute("CREATE OR REPLACE TABLE persons AS SELECT person_id, status FROM read_csv(?, all_varchar = true)",
                [str(truth / "persons.csv")]).fetchall()
    con.execute("CREATE OR REPLACE TABLE truth_pairs AS SELECT a.record_uid AS l, b.record_uid AS r FROM truth a "
                "JOIN truth b ON a.person_id = b.person_id AND a.record_uid < b.record_uid").fetchall()


def pairwise(con, clusters: str) -> dict:
    """clusters: a relation (record_uid, cluster_id) over the loaded records."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE pred AS SELECT a.record_uid AS l, b.record_uid AS r FROM ({clusters}) a "
                f"JOIN ({clusters}) b ON a.cluster_id = b.cluster_id AND a.record_uid < b.record_uid").fetchall()
    tp = con.execute("SELECT count(*) FROM pred JOIN truth_pairs USING (l, r)").fetchall()[0][0]
    n_pred = con.execute("SELECT count(*) FROM pred").fetchall()[0][0]
    n_true = con.execute("SELECT count(*) FROM truth_pairs WHERE l IN (SELECT record_uid FROM loaded) "
                         "AND r IN (SELECT record_uid FROM loaded)").fetchall()[0][0]
    p = tp / n_pred if n_pred else 1.0
    r = tp / n_true if n_true else 1.0
    return {"precision": round(p, 5), "recall": round(r, 5), "f1": round(2 * p * r / (p + r), 5),
            "false_pairs": n_pred - tp, "missed_pairs": n_true - tp}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--residents", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--date", default="2026-11-20")
    ap.add_argument("--dirt", type=float, default=1.0)
    ap.add_argument("--splink", action="store_true", help="run the Splink 5 baseline too (needs .venv-splink)")
    ap.add_argument("--reuse", action="store_true", help="reuse the last synced warehouse of this district")
    ap.add_argument("--second-night", action="store_true",
                    help="then sync the next day's deliveries (a line less each) on a copy of the warehouse")
    args = ap.parse_args()
    district, _ = ensure_district(args.residents, args.seed, args.date, args.dirt)
    wh = BENCH / f"wh-{args.residents}-s{args.seed}-d{args.dirt:g}"
    if args.reuse and (wh / "shiyou.duckdb").exists():
        wall, rss = None, None
    else:
        wall, rss, _ = run_sync(district / "landing", wh)
    linking = linking_alone(wh)

    con = duckdb.connect()
    con.execute("ATTACH ? AS wh (READ_ONLY)", [str(wh / "shiyou.duckdb")]).fetchall()
    load_truth(con, district / "truth")
    con.execute("CREATE TABLE loaded AS SELECT record_uid FROM wh.source_records").fetchall()
    out = {"residents": args.residents, "dirt": args.dirt, "records": con.execute(
        "SELECT count(*) FROM loaded").fetchall()[0][0], "sync_seconds": wall and round(wall, 1),
        "sync_peak_gb": rss and round(rss, 2), "shiyou_linking_seconds": linking}
    out["shiyou"] = pairwise(con, "SELECT record_uid, resident_id AS cluster_id FROM wh.resident_xref")
    active_true = con.execute("SELECT count(*) FROM persons WHERE status = 'active'").fetchall()[0][0]
    active = con.execute("SELECT count(*) FROM wh.residents WHERE status = 'active'").fetchall()[0][0]
    out["active_residents"] = {"truth": active_true, "shiyou": active,
                               "error": round((active - active_true) / active_true, 5)}
    dead = con.execute(
        "WITH d AS (SELECT DISTINCT t.person_id, x.resident_id FROM truth t JOIN persons p USING (person_id) "
        "JOIN wh.resident_xref x USING (record_uid) WHERE p.status = 'deceased') "
        "SELECT count(DISTINCT person_id), count(DISTINCT person_id) FILTER (WHERE r.status = 'deceased') "
        "FROM d JOIN wh.residents r USING (resident_id)").fetchall()[0]
    out["deceased_recall"] = round(dead[1] / dead[0], 5) if dead[0] else None
    out["exact_id"] = pairwise(con, "SELECT record_uid, CASE WHEN id_valid THEN id_number ELSE record_uid END "
                                    "AS cluster_id FROM wh.source_records")
    if args.second_night:
        out["second_night"] = second_night(district, wh, args.date)
    if args.splink:
        if not SPLINK_PY.exists():
            sys.exit("Splink venv missing: python3.11 -m venv .venv-splink && "
                     ".venv-splink/bin/pip install -r benchmarks/requirements-splink.txt")
        sdir = BENCH / f"splink-{args.residents}-d{args.dirt:g}"
        sdir.mkdir(parents=True, exist_ok=True)
        rec = sdir / "records.parquet"
        con.execute(f"COPY (SELECT {SPLINK_COLUMNS} FROM wh.source_records) TO '{rec}' (FORMAT parquet)").fetchall()
        # Splink's process inherits DUCKDB_JE_MALLOC_CONF, set by importing shiyou above: its DuckDB
        # runs with the allocator setting shiyou's sync has (with DuckDB's default it took about as long),
        # and its connection gets the same block allocator (its memory cap stays DuckDB's default).
        from shiyou.sync import duckdb_settings

        same = [f"--set=block_allocator_memory={duckdb_settings()['block_allocator_memory']}"]
        subprocess.run([str(SPLINK_PY), str(ROOT / "benchmarks" / "splink_baseline.py"), "--records", str(rec),
                        "--out", str(sdir), *same], check=True, cwd=ROOT)
        timings = json.loads((sdir / "timings.json").read_text())
        out["splink"] = pairwise(con, f"SELECT record_uid, CAST(cluster_id AS VARCHAR) AS cluster_id "
                                      f"FROM read_parquet('{sdir / 'clusters.parquet'}')")
        out["splink_linking_seconds"] = timings["seconds"]
        rec.unlink()
    BENCH.mkdir(exist_ok=True)
    with (BENCH / "matching.jsonl").open("a") as fh:
        fh.write(json.dumps(out) + "\n")
    print(f"| system | precision | recall | F1 | false pairs | missed pairs |  ({args.residents} residents, "
          f"dirt ×{args.dirt:g}, {out['records']} records)")
    print("|---|---|---|---|---|---|")
    for name in ("shiyou", "splink", "exact_id"):
        if name in out:
            m = out[name]
            print(f"| {name} | {m['precision']} | {m['recall']} | {m['f1']} | {m['false_pairs']} | {m['missed_pairs']} |")
    print(f"active residents: {active} vs {active_true} true (error {out['active_residents']['error']:+.3%}); "
          f"deceased recall {out['deceased_recall']}")
    print(f"full sync {out['sync_seconds']} s, peak {out['sync_peak_gb']} GB; shiyou linking {linking['total']} s "
          f"({', '.join(f'{k} {v}' for k, v in linking.items() if k != 'total')})"
          + (f"; Splink linking {out['splink_linking_seconds']['total']} s" if "splink" in out else ""))
    if "second_night" in out:
        n = out["second_night"]
        print(f"second night: {n['seconds']} s, peak {n['peak_gb']} GB, model {n['model']}, "
              f"change events {n['change_events'] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
