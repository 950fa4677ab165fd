"""Benchmark: ingest + standardise + publish a generated district with `shiyou sync`.

    python benchmarks/bench_ingest.py --residents 1000000 [--seed 7] [--keep]

Generates the district once (cached under .bench/), then runs the real
`shiyou sync` in a child process on a fresh warehouse and reports wall time,
peak RSS of the sync process, and the rows per source. Results go to stdout
as a Markdown table row (paste into docs/benchmarks.md) and to .bench/results.jsonl.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"


def ensure_district(residents: int, seed: int, date: str, dirt: float) -> tuple[Path, float | None]:
    out = BENCH / f"district-{residents}-s{seed}-d{dirt:g}"
    marker = out / ".complete"
    if marker.exists():
        return out, None
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "shiyou.synth", "--residents", str(residents), "--seed", str(seed),
                    "--date", date, "--out", str(out), "--dirt-multiplier", str(dirt)], check=True, cwd=ROOT)
    marker.write_text("ok")
    return out, time.perf_counter() - t0


def run_sync(landing: Path, warehouse: Path, fresh: bool = True) -> tuple[float, float, str]:
    """`shiyou sync` in a child process: (wall s, its peak RSS GB, stdout). ``fresh``: on an empty
    warehouse (else on the one there: a nightly run)."""
    if fresh:
        shutil.rmtree(warehouse, ignore_errors=True)
    out, err = BENCH / "sync.out", BENCH / "sync.err"
    with out.open("w") as fo, err.open("w") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "shiyou.cli", "sync", "--landing", str(landing),
                                 "--warehouse", str(warehouse)], cwd=ROOT, stdout=fo, stderr=fe)
        # wait4 gives this child's own peak RSS (not the generator's, run earlier)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        sys.exit(f"sync failed ({code}): {err.read_text().strip()}")
    return wall, usage.ru_maxrss / 1024 / 1024, out.read_text()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--date", default="2026-11-20")
    ap.add_argument("--dirt-multiplier", type=float, default=1.0)
    ap.add_argument("--keep", action="store_true", help="keep the warehouse for inspection")
    args = ap.parse_args()

    district, gen_s = ensure_district(args.residents, args.seed, args.date, args.dirt_multiplier)
    landing = district / "landing"
    size_mb = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()) / 1e6
    warehouse = BENCH / "warehouse"
    wall, peak_gb, stdout = run_sync(landing, warehouse)
    import duckdb

    with duckdb.connect(str(warehouse / "shiyou.duckdb"), read_only=True) as con:
        per_source = dict(con.execute(
            "SELECT source, rows_read FROM deliveries WHERE is_current ORDER BY source").fetchall())
        records = con.execute("SELECT count(*) FROM source_records").fetchone()[0]
        summary = json.loads(con.execute("SELECT summary FROM sync_runs ORDER BY run_no DESC LIMIT 1").fetchone()[0])
        quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    if not args.keep:
        shutil.rmtree(warehouse, ignore_errors=True)
    result = {
        "when": dt.datetime.now().isoformat(timespec="seconds"), "residents": args.residents,
        "dirt": args.dirt_multiplier, "landing_mb": round(size_mb, 1), "rows_read": sum(per_source.values()),
        "records_loaded": records, "quarantined": quarantined, "wall_s": round(wall, 1),
        "peak_rss_gb": round(peak_gb, 2), "cpus": os.cpu_count(), "python": platform.python_version(),
        "generate_s": round(gen_s, 1) if gen_s else None, "per_source_rows": per_source,
    }
    print(stdout)
    print("| residents | landing MB | rows read | records loaded | quarantined | wall s | peak RSS GB |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.residents:,} | {size_mb:.0f} | {result['rows_read']:,} | {records:,} | {quarantined:,} | "
          f"{wall:.1f} | {peak_gb:.2f} |")
    phases = sorted({k for o in summary for k in o.get("seconds", {})},
                    key=["read", "standardise", "to_pandas", "validate", "split", "account"].index)
    print()
    print("| source | rows | " + " | ".join(phases) + " | total s |")
    print("|---|---|" + "---|" * (len(phases) + 1))
    for o in summary:
        sec = o.get("seconds", {})
        print(f"| {o['source']} | {per_source.get(o['source'], 0):,} | " + " | ".join(f"{sec.get(p, 0):.1f}" for p in phases)
              + f" | {sum(sec.values()):.1f} |")
    result["phases"] = {o["source"]: o.get("seconds", {}) for o in summary}
    BENCH.mkdir(exist_ok=True)
    with (BENCH / "results.jsonl").open("a", encoding="utf-8") as fh:  # noqa: SIM115
        fh.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
