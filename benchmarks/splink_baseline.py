"""Splink 5 baseline for the matching benchmark (run beside shiyou's own matcher).

    .venv-splink/bin/python benchmarks/splink_baseline.py --records R.parquet --out DIR [--threads 2]

Splink lives in its own venv so its pins never touch the project's:

    python3.11 -m venv .venv-splink
    .venv-splink/bin/pip install -r benchmarks/requirements-splink.txt

The input is one row per standardised source record (``source_records``), e.g.

    ATTACH 'shiyou.duckdb' AS wh (READ_ONLY);
    COPY (SELECT record_uid, source, name_norm, name_key, name_pinyin, name_pinyin_fuzzy,
                 former_name_key, id_number, id_status, id_valid, birth_date, birth_year_month,
                 sex, phone, address_norm, address_key, address_road, address_door_number,
                 address_building, address_room, address_street, household_id
          FROM wh.source_records) TO 'R.parquet';

Output in DIR:
    clusters.parquet  record_uid, cluster_id  (every input record once, singletons included)
    pairs.parquet     record_uid_l, record_uid_r, match_probability  (pairs >= threshold)
    timings.json      splink_version, records, blocked_pairs, seconds{train,predict,
                      cluster,total}, threshold, settings (the trained Splink model)
Only Splink's linking work is timed (linker set-up + training, predict, clustering);
reading the parquet into DuckDB and writing the outputs are not. One summary line goes
to stdout; no names, ID numbers or phones are ever printed.

The model is Splink 5 set up the way a competent user would (DuckDBAPI, dedupe_only).
Levels are listed in order (the first that holds wins); each comparison has a null
level for an empty side. The tuned model:

  name       exact name_key (traditional->simplified, separators removed) | same
             pinyin (homophone) | one side's former name = the other's name | same
             southern-folded pinyin (near-homophone) | Jaro-Winkler(pinyin) >= 0.92 |
             else.  String distances compare pinyin, not Chinese characters, because
             DuckDB's distances count UTF-8 bytes (one CJK character = 3 bytes).
  id_number  exact | Damerau-Levenshtein <= 1 (one mistyped or two swapped digits) | else
  birth      exact birth_date | Levenshtein(date text) <= 1 | same birth_year_month
             (month-only deliveries: labour) | within 1 year | else
  phone      exact, with term-frequency adjustment | else
  address    exact address_key (road|door|building|room) | same road + door number |
             same street | else
  sex        exact | else (0 and 9, unknown/unstated, count as null)

Prediction uses the union of four blocking rules: id_number; name_pinyin + birth_date;
phone; name_pinyin + address_road + address_door_number.

Training follows the Splink docs:
  * probability_two_random_records_match comes from deterministic rules (exact ID +
    exact name; exact name + birth date + phone), assuming a recall of 0.8;
  * u comes from random sampling (max_pairs 5e6, seed 42, so it is deterministic);
  * m comes from two EM runs. The first blocks on name_key + birth_date and trains ID,
    phone, address and sex. The second blocks on id_number and trains name, birth,
    phone, address and sex.
The "former name" level is never seen among random pairs, so Splink gives it its
not-observed u of 1e-6.

Clustering: connected components at match_probability >= 0.99 (THRESHOLD). On the tuned
model 0.99 gave the best pairwise F1. 0.9 merged more households and 0.999 or 0.9999
lost more recall than they gained in precision.

Tuning was done on the 100k-resident district (seed 7, dirt x1), scoring pairwise
precision / recall against the generator's truth, one change at a time as a user would
after reading the errors. The P / R figures are for that district at 0.99:
  0. first model (`--untuned`): no TF, name level JW >= 0.80 below 0.92, ID
     Levenshtein <= 2 level, blocking on name_key              P 0.9864  R 0.9961
     Most false merges were household members sharing a flat and a phone.
  1. term-frequency adjustment on phone                       P 0.9876  R 0.9961
  2. drop the Jaro-Winkler >= 0.80 name level. On pinyin a shared surname alone
     reaches 0.8, so it made a husband ("-M", name/phone/flat only) look like his
     father or son                                            P 0.9969  R 0.9960
  3. drop the ID Levenshtein <= 2 level (twins' IDs differ by two characters) and block
     on name_pinyin rather than name_key (homophone typos)    P 0.9970  R 0.9963
  Tried and not kept: TF on the exact-name level (no precision gain, recall -0.0003).
TUNING below holds the switches, and timings.json records which ones were used.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import duckdb
import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

THRESHOLD = 0.99
SEED = 42
U_MAX_PAIRS = 5e6
PRIOR_RECALL = 0.8

# The adjustments made after looking at the first model's errors on the 100k district.
TUNING = {"tf_phone": True, "tf_name": False, "name_jw_low": False, "id_lev2": False, "block_pinyin": True}
UNTUNED = {"tf_phone": False, "tf_name": False, "name_jw_low": True, "id_lev2": True, "block_pinyin": False}

INPUT_COLUMNS = [
    "record_uid", "source", "name_key", "name_pinyin", "name_pinyin_fuzzy", "former_name_key",
    "id_number", "birth_date", "birth_year_month", "sex", "phone", "address_key",
    "address_road", "address_door_number", "address_street",
]


def _null(*cols: str) -> cll.CustomLevel:
    cond = " OR ".join(f'"{c}_l" IS NULL OR "{c}_r" IS NULL' for c in cols)
    return cll.CustomLevel(cond, label_for_charts="null").configure(is_null_level=True)


def name_comparison(tf: bool, jw_low: bool) -> cl.CustomComparison:
    exact = cll.ExactMatchLevel("name_key", term_frequency_adjustments=tf)
    return cl.CustomComparison(
        output_column_name="name",
        comparison_description="name_key exact / pinyin (homophones, fuzzy, Jaro-Winkler)",
        comparison_levels=[
            _null("name_key"),
            exact,
            cll.ExactMatchLevel("name_pinyin").configure(label_for_charts="same pinyin"),
            cll.CustomLevel(
                "former_name_key_l = name_key_r OR name_key_l = former_name_key_r",
                label_for_charts="former name = name",
            ),
            cll.ExactMatchLevel("name_pinyin_fuzzy").configure(label_for_charts="same fuzzy pinyin"),
            cll.JaroWinklerLevel("name_pinyin", 0.92),
            *([cll.JaroWinklerLevel("name_pinyin", 0.80)] if jw_low else []),
            cll.ElseLevel(),
        ],
    )


def id_comparison(lev2: bool) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="id_number",
        comparison_description="id_number exact / one typo or swap / two edits",
        comparison_levels=[
            cll.NullLevel("id_number"),
            cll.ExactMatchLevel("id_number"),
            cll.DamerauLevenshteinLevel("id_number", 1),
            *([cll.LevenshteinLevel("id_number", 2)] if lev2 else []),
            cll.ElseLevel(),
        ],
    )


def birth_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="birth",
        comparison_description="birth_date exact / one-character typo / same month / within a year",
        comparison_levels=[
            _null("birth_year_month"),
            cll.ExactMatchLevel("birth_date"),
            cll.CustomLevel(
                "levenshtein(CAST(birth_date_l AS VARCHAR), CAST(birth_date_r AS VARCHAR)) <= 1",
                label_for_charts="birth_date levenshtein <= 1",
            ),
            cll.ExactMatchLevel("birth_year_month").configure(label_for_charts="same year-month"),
            cll.AbsoluteDateDifferenceLevel("birth_date", input_is_string=False, threshold=1, metric="year"),
            cll.ElseLevel(),
        ],
    )


def phone_comparison(tf: bool) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="phone",
        comparison_description="phone exact" + (" (term-frequency adjusted)" if tf else ""),
        comparison_levels=[
            cll.NullLevel("phone"),
            cll.ExactMatchLevel("phone", term_frequency_adjustments=tf),
            cll.ElseLevel(),
        ],
    )


def address_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="address",
        comparison_description="address_key exact / same road and door number / same street",
        comparison_levels=[
            cll.NullLevel("address_key"),
            cll.ExactMatchLevel("address_key"),
            cll.And(cll.ExactMatchLevel("address_road"), cll.ExactMatchLevel("address_door_number"))
            .configure(label_for_charts="same road + door number"),
            cll.ExactMatchLevel("address_street"),
            cll.ElseLevel(),
        ],
    )


def sex_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="sex",
        comparison_description="sex exact (0/9 unknown = null)",
        comparison_levels=[
            cll.CustomLevel(
                "sex_l IS NULL OR sex_r IS NULL OR sex_l IN ('0', '9') OR sex_r IN ('0', '9')",
                label_for_charts="null",
            ).configure(is_null_level=True),
            cll.ExactMatchLevel("sex"),
            cll.ElseLevel(),
        ],
    )


def prediction_blocking(pinyin: bool) -> list:
    name = "name_pinyin" if pinyin else "name_key"
    return [
        block_on("id_number"),
        block_on(name, "birth_date"),
        block_on("phone"),
        block_on(name, "address_road", "address_door_number"),
    ]


def build_settings(tuning: dict) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_uid",
        comparisons=[
            name_comparison(tuning["tf_name"], tuning["name_jw_low"]),
            id_comparison(tuning["id_lev2"]),
            birth_comparison(),
            phone_comparison(tuning["tf_phone"]),
            address_comparison(),
            sex_comparison(),
        ],
        blocking_rules_to_generate_predictions=prediction_blocking(tuning["block_pinyin"]),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=[],
        max_iterations=25,
        em_convergence=0.0001,
        linker_uid="shiyou_splink_baseline",  # else random: keeps timings.json stable
    )


def train(linker: Linker) -> None:
    t = linker.training
    t.estimate_probability_two_random_records_match(
        [block_on("id_number", "name_key"), block_on("name_key", "birth_date", "phone")],
        recall=PRIOR_RECALL,
    )
    t.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    t.estimate_parameters_using_expectation_maximisation(block_on("name_key", "birth_date"))
    t.estimate_parameters_using_expectation_maximisation(block_on("id_number"))


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", required=True, type=Path, help="standardised source records (parquet)")
    ap.add_argument("--out", required=True, type=Path, help="output directory")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    ap.add_argument("--threshold", type=float, default=THRESHOLD, help="clustering match probability")
    ap.add_argument("--untuned", action="store_true", help="the first model, before tuning (step 0)")
    ap.add_argument("--verbose", action="store_true", help="Splink's own progress log on stderr")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a DuckDB setting for Splink's connection (bench_matching passes shiyou's block allocator)")
    args = ap.parse_args(argv)

    tuning = dict(UNTUNED) if args.untuned else dict(TUNING)
    args.out.mkdir(parents=True, exist_ok=True)

    # Splink logs to stderr; stdout carries only the summary line.
    log_level = logging.INFO if args.verbose else logging.WARNING

    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    for setting in args.set:
        name, _, value = setting.partition("=")
        if not name.isidentifier():
            ap.error(f"--set {setting!r}: NAME=VALUE with a DuckDB setting's name")
        con.execute(f"SET {name} = ?", [value])
    cols = ", ".join(f'"{c}"' for c in INPUT_COLUMNS)
    con.execute(
        f"CREATE TABLE records AS SELECT {cols} FROM read_parquet(?) ORDER BY record_uid",
        [str(args.records)],
    )
    n_records = con.execute("SELECT count(*) FROM records").fetchall()[0][0]

    db_api = DuckDBAPI(connection=con)
    records = db_api.register("records", dataset_display_name="records")

    t0 = time.perf_counter()
    linker = Linker(records, build_settings(tuning), log_level=log_level)
    train(linker)
    t1 = time.perf_counter()
    # All blocked pairs are scored anyway; keep them to count them, filter for clustering.
    predictions = linker.inference.predict(warning_mode="never")
    t2 = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=args.threshold
    )
    t3 = time.perf_counter()

    out = str(args.out).replace("'", "''")  # for the SQL string literals below
    pred, clus = predictions.physical_name, clusters.physical_name
    blocked_pairs = con.execute(f"SELECT count(*) FROM {pred}").fetchall()[0][0]
    con.execute(
        f"""COPY (SELECT record_uid_l, record_uid_r, match_probability FROM {pred}
                  WHERE match_probability >= {float(args.threshold)!r}
                  ORDER BY record_uid_l, record_uid_r)
            TO '{out}/pairs.parquet' (FORMAT parquet)"""
    )
    con.execute(
        f"""COPY (SELECT r.record_uid, coalesce(c.cluster_id, r.record_uid) AS cluster_id
                  FROM records r LEFT JOIN {clus} c USING (record_uid) ORDER BY r.record_uid)
            TO '{out}/clusters.parquet' (FORMAT parquet)"""
    )
    n_pairs, n_clusters = con.execute(
        f"""SELECT (SELECT count(*) FROM read_parquet('{out}/pairs.parquet')),
                   (SELECT count(DISTINCT cluster_id) FROM read_parquet('{out}/clusters.parquet'))"""
    ).fetchall()[0]

    timings = {
        "splink_version": splink.__version__,
        "records": n_records,
        "blocked_pairs": blocked_pairs,
        "matched_pairs": n_pairs,
        "clusters": n_clusters,
        "threads": args.threads,
        "seconds": {
            "train": round(t1 - t0, 3),
            "predict": round(t2 - t1, 3),
            "cluster": round(t3 - t2, 3),
            "total": round(t3 - t0, 3),
        },
        "threshold": args.threshold,
        "tuning": tuning,
        "settings": _jsonable(linker.misc.save_model_to_json()),
    }
    (args.out / "timings.json").write_text(json.dumps(timings, indent=2, ensure_ascii=False) + "\n")
    print(
        f"splink {splink.__version__}: {n_records:,} records, {blocked_pairs:,} blocked pairs, "
        f"{n_pairs:,} pairs >= {args.threshold:g}, {n_clusters:,} clusters; "
        f"train {t1 - t0:.1f}s predict {t2 - t1:.1f}s cluster {t3 - t2:.1f}s total {t3 - t0:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
