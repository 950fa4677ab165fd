"""Measure blocking and comparison levels on a synced warehouse against its ground truth.

    python -m shiyou.synth --residents 100000 --seed 7 --date 2026-11-20 --out /tmp/d100k
    python -m shiyou.cli sync --landing /tmp/d100k/landing --warehouse /tmp/wh100k
    python -m tests.unit.matching.measure --warehouse /tmp/wh100k --truth /tmp/d100k/truth

Prints pair counts per rule, recall against the truth and the time of each step (the
warehouse is attached read-only; everything is built in memory).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

from shiyou.matching import blocking, comparisons
from shiyou.matching.model import load_matching_config
from tests.unit.matching import truth


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--warehouse", type=Path, required=True)
    p.add_argument("--truth", type=Path, required=True)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    con = duckdb.connect(config={"threads": args.threads})
    db = args.warehouse / "shiyou.duckdb" if args.warehouse.is_dir() else args.warehouse
    con.execute("ATTACH ? AS wh (READ_ONLY)", [str(db)]).fetchall()
    cfg = load_matching_config()
    tables = blocking.Tables(records="wh.source_records")
    t0 = time.perf_counter()
    rep = blocking.run_blocking(con, cfg, tables)
    gam = comparisons.compute_gamma(con, cfg, tables)
    total = time.perf_counter() - t0
    print("\n".join(rep.lines()))
    print("\n".join(gam.lines()))
    print(f"blocking + gamma: {total:.2f} s on {args.threads} threads")
    truth.load_truth(con, args.truth)
    r, reach = truth.recall(con), truth.reachable_recall(con)
    print(f"true pairs {r['true_pairs']}, found {r['found']}: pairwise recall {r['recall']:.5f}; "
          f"reachable {reach['reachable']}: {reach['reachable_recall']:.5f} ({reach['persons_split']} persons split); "
          f"true share of candidates {r['true_share_of_candidates']:.3f}")


if __name__ == "__main__":
    main()
