"""Resolve residents inside the release being built: match, cluster, survive, publish tables.

    report = resolve_residents(con, previous_db, model_path, detected_on=sync_date)

Runs on the staging connection after the source tables are assembled and creates the
published tables ``residents``, ``resident_xref``, ``match_links`` (the explanation of
every link, review and cut pair), ``review_queue`` (masked), ``match_statistics`` and
``match_model`` (the trained model as JSON, also written to ``model_path``) and
``change_events`` (the previous release's log plus what changed since it, changes.py).
Intermediate tables are dropped; nothing here imports Dagster.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from shiyou.matching import blocking, changes, cluster, comparisons, golden, predict, train
from shiyou.matching.model import MatchingConfig, load_matching_config
from shiyou.matching.blocking import run, scratch
from shiyou.sql import create_table_as, literal, quote_ident, table_exists
from shiyou.standard import masking
from shiyou.standard.elements import storage_compression

PUBLISHED = ["residents", "resident_xref", "match_links", "review_queue", "match_statistics", "match_model",
             "change_events"]
_SCRATCH = ["match_records", "match_pairs_by_rule", "match_pairs", "match_skipped_pairs",
            "match_gamma", "match_scores", "match_edges", "match_cut_pairs", "match_clusters", "match_golden_records",
            "match_golden", "match_resident_ids", train.RANDOM_PAIRS, train.RANDOM_GAMMA, train.SKIPPED_GAMMA]


@dataclass
class ResolveReport:
    records: int
    residents: int
    candidate_pairs: int
    decisions: dict[str, int]
    cut_pairs: int
    review_pairs: int
    seconds: dict[str, float] = field(default_factory=dict)
    model: str = "trained"  # or "reused (trained on YYYY-MM-DD)"

    def lines(self) -> list[str]:
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        return [f"matched {self.records} records into {self.residents} residents "
                f"({self.candidate_pairs} candidate pairs, {self.review_pairs} for review, "
                f"{self.cut_pairs} cut by cannot-link rules; model {self.model}; {steps})"]


def links_sql(cfg: MatchingConfig, model: train.TrainedModel) -> str:
    """Every pair worth explaining — scored match or review, or cut — with its level and weight
    per comparison, the cannot-link rule that cut it and whether it is inside one resident.

    ``levels`` is a STRUCT (comparison -> {level, weight}), not JSON text: serialising 1.6M
    explanations to JSON was two thirds of building the table at 1M residents (3.8 s against
    2.1 s). ``to_json(levels)`` gives the text where one is wanted (review_queue)."""
    parts = []
    for c, (name, w) in zip(cfg.comparisons, predict.term_sqls(model)):
        labels = " ".join(f"WHEN {g} THEN {literal(lab)}" for g, lab in c.level_labels().items())
        parts.append(f"{quote_ident(name)} := struct_pack(level := CASE g.{quote_ident(c.column)} {labels} END, "
                     f"weight := CAST(round({w}, 2) AS DOUBLE))")
    return (f"SELECT cl.record_uid AS record_uid_l, cr.record_uid AS record_uid_r, s.rule, p.rules, s.match_weight, "
            f"s.match_probability, s.decision, x.cut_by, (cl.cluster_no = cr.cluster_no) AS same_resident, "
            f"struct_pack({', '.join(parts)}) AS levels "
            f"FROM match_scores AS s JOIN match_gamma AS g USING (record_no_l, record_no_r) "
            f"JOIN match_pairs AS p USING (record_no_l, record_no_r) "
            f"LEFT JOIN match_cut_pairs AS x USING (record_no_l, record_no_r) "
            f"JOIN match_clusters AS cl ON cl.record_no = s.record_no_l "
            f"JOIN match_clusters AS cr ON cr.record_no = s.record_no_r "
            f"WHERE s.decision IN ('match', 'review')")


def review_queue_sql() -> str:
    """Uncertain pairs side by side, masked: the review band and the pairs a cannot-link rule cut."""
    def side(a: str) -> str:
        return (f"{a}.source AS source_{a}, {a}.record_id AS record_id_{a}, "
                f"{masking.sql_mask_name(a + '.name_norm')} AS name_{a}, {masking.sql_mask_id(a + '.id_number')} "
                f"AS id_number_{a}, year({a}.birth_date) AS birth_year_{a}, {a}.sex AS sex_{a}, "
                f"{masking.sql_mask_phone(a + '.phone')} AS phone_{a}, {masking.sql_mask_text(a + '.address')} "
                f"AS address_{a}, x{a}.resident_id AS resident_id_{a}")
    return (f"SELECT row_number() OVER (ORDER BY k.match_weight DESC, k.record_uid_l, k.record_uid_r) AS review_no, "
            f"CASE WHEN k.cut_by IS NOT NULL THEN 'cut: ' || k.cut_by ELSE 'review band' END AS reason, "
            f"k.match_weight, k.match_probability, {side('l')}, {side('r')}, "
            f"CAST(to_json(k.levels) AS VARCHAR) AS explanation "
            f"FROM match_links AS k JOIN source_records AS l ON l.record_uid = k.record_uid_l "
            f"JOIN source_records AS r ON r.record_uid = k.record_uid_r "
            f"JOIN resident_xref AS xl ON xl.record_uid = k.record_uid_l "
            f"JOIN resident_xref AS xr ON xr.record_uid = k.record_uid_r "
            f"WHERE k.decision = 'review' OR k.cut_by IS NOT NULL")


def _previous_model(con, previous_db: str | None) -> tuple[train.TrainedModel, object] | None:
    """The previous release's model and when it was trained, if it has one that can be read."""
    if not previous_db:
        return None
    run(con, f"ATTACH {literal(previous_db)} AS prev_model (READ_ONLY)")
    try:
        if not table_exists(con, "match_model", "prev_model"):
            return None
        row = con.execute("SELECT CAST(model AS VARCHAR), trained_at FROM prev_model.match_model "
                          "ORDER BY trained_at DESC LIMIT 1").fetchall()
    finally:
        run(con, "DETACH prev_model")
    try:
        return (train.TrainedModel.from_json(row[0][0]), row[0][1]) if row else None
    except (ValueError, TypeError, KeyError):  # a model JSON from another version: train instead
        return None


def _choose_model(con, cfg: MatchingConfig, tables: blocking.Tables, sources: list[str], previous_db: str | None,
                  detected_on, retrain: bool) -> tuple[train.TrainedModel, object, int | None]:
    """(model, trained_at, its age in days): the previous release's model while it may be reused
    (train.reusable), else one trained on this sync's candidate pairs (trained_at and age None)."""
    current = train.fingerprint(cfg, sources)
    today = dt.date.fromisoformat(str(detected_on)) if detected_on else None
    previous = None if retrain else _previous_model(con, previous_db)
    if previous and train.reusable(previous[0], current, today, cfg.settings.retrain_after_days):
        model, trained_at = previous
        # u_tf = frequency / N: N is today's number of records, whatever it was in training.
        model.total_records = con.execute(f"SELECT count(*) FROM {blocking.qname(tables.match_records)}"
                                          ).fetchall()[0][0]
        return model, trained_at, train.age_days(model, today)
    model = train.train(con, cfg, tables)
    _drop(con, train.RANDOM_PAIRS, train.RANDOM_GAMMA, train.SKIPPED_GAMMA)
    model.fingerprint, model.trained_on = current, today.isoformat() if today else None
    return model, None, None


def _statistics(con, rep: blocking.BlockingReport, clu: cluster.ClusterReport,
                decisions: dict[str, int], model: tuple) -> list[tuple]:
    rows = [model]
    rows += [("blocking_rule", r.rule, r.pairs, f"{r.first_pairs} new; {r.oversized_blocks} blocks over "
             f"{r.max_block_size} skipped" + (f"; ≈ {r.skipped_estimate} pairs skipped by pair_where"
                                              if r.skipped_sampled else "")) for r in rep.rules]
    rows += [("cluster_size", str(n), k, "residents with this many source records") for n, k in clu.sizes.items()]
    for sources, n in con.execute("SELECT array_to_string(sources, '+'), count(*) FROM residents "
                                  "GROUP BY 1 ORDER BY 2 DESC").fetchall():
        rows.append(("source_overlap", sources, n, "residents found in exactly these sources"))
    for d, n in sorted(decisions.items()):
        rows.append(("decision", d, n, "candidate pairs"))
    rows.append(("cut", "cannot_link", clu.cut_pairs, "match pairs cut before clustering"))
    for s, n in con.execute("SELECT status, count(*) FROM residents GROUP BY 1 ORDER BY 1").fetchall():
        rows.append(("resident_status", s, n, "residents"))
    return rows


def _change_events(con, has_previous: bool, detected_on) -> None:
    """change_events: the previous release's log plus this sync's events (none on a first sync)."""
    run(con, f"CREATE OR REPLACE TABLE change_events ({changes.COLUMNS})")
    if not has_previous:
        return
    if table_exists(con, "change_events", "prev"):
        run(con, "INSERT INTO change_events SELECT * FROM prev.change_events")
    if table_exists(con, "residents", "prev"):
        run(con, f"INSERT INTO change_events {changes.change_events_sql('prev', detected_on)}")


def storage() -> dict[str, str]:
    """Column -> compression for the published tables: as the standard stores the same element
    (a link's two record_uids as record_uid), and ``provenance`` (nine record keys as JSON text)
    ZSTD: at 1M residents DuckDB's own choice took 1.37 CPU-seconds and 420 blocks to write it,
    ZSTD 0.51 and 122."""
    out = storage_compression()
    if out.get("record_uid"):
        out.update(record_uid_l=out["record_uid"], record_uid_r=out["record_uid"])
    return {**out, "provenance": "zstd"}


def _drop(con, *names: str) -> None:
    """Scratch tables no later step reads. Dropped at once: they live in memory (TEMP), and at 1M
    residents what is still held when survivorship runs decides whether DuckDB spills to disk."""
    for name in names:
        run(con, f"DROP TABLE IF EXISTS {quote_ident(name)}")


def resolve_residents(con, previous_db: str | None = None, model_path: Path | None = None,
                      cfg: MatchingConfig | None = None, detected_on=None, retrain: bool = False) -> ResolveReport:
    cfg = cfg or load_matching_config()
    tables = blocking.Tables(records="source_records")
    secs: dict[str, float] = {}

    def lap(name: str, t0: float) -> float:
        now = time.perf_counter()
        secs[name] = round(now - t0, 2)
        return now

    t = time.perf_counter()
    sources = [r[0] for r in con.execute(f"SELECT DISTINCT source FROM {blocking.qname(tables.records)} "
                                         f"ORDER BY 1").fetchall()]
    brep = blocking.run_blocking(con, cfg, tables)
    _drop(con, tables.rule_pairs)
    t = lap("blocking", t)
    comparisons.compute_gamma(con, cfg, tables)
    t = lap("comparisons", t)
    model, trained_at, age = _choose_model(con, cfg, tables, sources, previous_db, detected_on, retrain)
    _drop(con, tables.skipped_pairs)  # read by training only
    how = "trained" if age is None else f"reused (trained on {model.trained_on})"
    t = lap("training", t)
    prep = predict.predict(con, cfg, model, tables)
    t = lap("scoring", t)
    crep = cluster.cluster(con, cfg, tables)
    # The clusters carry what survivorship needs of match_records (id_anchor): freed before the
    # links are written, the largest statement still to come while the pair tables are held.
    _drop(con, tables.match_records)
    t = lap("clustering", t)
    # Every pair worth explaining, now that clusters are known; the pair tables are then done with.
    create_table_as(con, "match_links", links_sql(cfg, model), compression=storage())
    _drop(con, tables.pairs, tables.gamma, predict.SCORES, cluster.EDGES, cluster.CUT)
    t = lap("links", t)

    scratch(con, "match_golden_records", golden.golden_records_sql())
    scratch(con, "match_golden", golden.golden_sql(sources=sources))
    _drop(con, "match_golden_records")
    if previous_db:
        run(con, f"ATTACH {literal(previous_db)} AS prev (READ_ONLY)")
    try:
        previous = "prev.resident_xref" if previous_db and table_exists(con, "resident_xref", "prev") else None
        scratch(con, "match_resident_ids", golden.resident_ids_sql(previous=previous))
        fields = ", ".join(f"g.{quote_ident(f.name)}" for f in golden.FIELDS)
        # In the order of each resident's first record, as resident_xref: a fixed order from run
        # to run, sorted on an integer (the text resident_id took ≈ 0.3 s more at 1M residents).
        create_table_as(con, "residents", f"SELECT i.resident_id, {fields}, g.status, g.status_date, "
                        f"g.records, g.sources, g.provenance FROM match_golden AS g JOIN match_resident_ids AS i "
                        f"USING (cluster_no) ORDER BY g.cluster_no", compression=storage())
        # In record_uid order (source:record_id, which record_no follows): sorting on the integer
        # instead of the two strings saves ≈ 0.5 s at 1M residents.
        create_table_as(con, "resident_xref", "SELECT s.source, s.record_id, c.record_uid, i.resident_id, "
                        "c.match_score FROM match_clusters AS c JOIN source_records AS s "
                        "ON s.record_uid = c.record_uid JOIN match_resident_ids AS i USING (cluster_no) "
                        "ORDER BY c.record_no", compression=storage())
        _change_events(con, previous is not None, detected_on)
    finally:
        if previous_db:
            run(con, "DETACH prev")
    run(con, f"CREATE OR REPLACE VIEW residents_masked AS SELECT resident_id, "
              f"{masking.sql_mask_id('id_number')} AS id_number, {masking.sql_mask_name('name')} AS name, sex, "
              f"year(birth_date) AS birth_year, population_type, {masking.sql_mask_text('address')} AS address, "
              f"household_id IS NOT NULL AS has_household, {masking.sql_mask_phone('phone')} AS phone, status, "
              f"status_date, records, sources FROM residents")
    t = lap("residents", t)
    run(con, f"CREATE OR REPLACE TABLE review_queue AS {review_queue_sql()}")
    stats = _statistics(con, brep, crep, prep.decisions, ("model", "trained" if age is None else "reused",
                                                          age or 0, f"model {how}; value: its age in days"))
    run(con, "CREATE OR REPLACE TABLE match_statistics (kind VARCHAR, key VARCHAR, value BIGINT, note VARCHAR)")
    con.executemany("INSERT INTO match_statistics VALUES (?, ?, ?, ?)", stats)
    model_json = model.to_json()
    run(con, "CREATE OR REPLACE TABLE match_model (trained_at TIMESTAMP, model JSON)")
    con.execute("INSERT INTO match_model VALUES (coalesce(CAST(? AS TIMESTAMP), now()::TIMESTAMP), ?)",
                [trained_at, model_json]).fetchall()
    if model_path is not None:
        model_path.write_text(model_json, encoding="utf-8")
    _drop(con, *_SCRATCH)
    lap("publishing", t)
    n_review, n_residents = con.execute("SELECT (SELECT count(*) FROM review_queue), "
                                        "(SELECT count(*) FROM residents)").fetchall()[0]
    return ResolveReport(brep.records, n_residents, brep.pairs, prep.decisions, crep.cut_pairs, n_review, secs,
                         model=how)


def report_json(rep: ResolveReport) -> str:
    return json.dumps(asdict(rep), ensure_ascii=False)
