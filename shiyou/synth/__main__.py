"""python -m shiyou.synth --residents N --seed S --date YYYY-MM-DD --out DIR [--dirt-multiplier 1.0]"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from . import generate_district, write_district


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m shiyou.synth", description=__doc__)
    ap.add_argument("--residents", type=int, required=True, help="actual residents (active people)")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--date", type=dt.date.fromisoformat, required=True, help="snapshot YYYY-MM-DD")
    ap.add_argument("--out", required=True, help="writes OUT/landing/... and OUT/truth/...")
    ap.add_argument("--dirt-multiplier", type=float, default=1.0,
                    help="scales every dirt and broken-row rate (0: clean files)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    district = generate_district(args.residents, args.seed, args.date, args.dirt_multiplier)
    t1 = time.perf_counter()
    paths = write_district(district, args.out)
    t2 = time.perf_counter()
    for source, c in district.record_counts().items():
        print(f"{source:16s} rows={c['rows']:>9,d} broken={c['broken_rows']:>6,d} "
              f"records={c['records']:>9,d}  {paths[source]}")
    print(f"persons={len(district.population):,d} generate={t1 - t0:.1f}s write={t2 - t1:.1f}s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
