"""Fellegi–Sunter training: u from random record pairs, m and the prior λ by EM on pattern counts.

    model = train(con, cfg, tables)          # match_records and match_gamma must exist
    Path("model.json").write_text(model.to_json())
    reusable(previous, fingerprint(cfg, sources), today, cfg.settings.retrain_after_days)

Everything that touches pairs is SQL generated from matching.yaml (a deterministic
sample of random pairs, their levels, a GROUP BY over the gamma table); the EM runs
in numpy over the few thousand distinct comparison patterns, never over pairs, so
its cost does not grow with the district (docs/matching.md, scale-path.md).

Levels are gamma values: -1 "not comparable" (weight 0, left out of m and u), then
0, 1 … A comparison's m and u are distributions over its comparable levels.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from shiyou.matching import similarity
from shiyou.matching.blocking import Tables, qname, scratch
from shiyou.matching.comparisons import gamma_sql
from shiyou.matching.model import Comparison, MatchingConfig
from shiyou.paths import ROOT
from shiyou.sql import quote_ident, table_exists

RANDOM_PAIRS = "match_random_pairs"
RANDOM_GAMMA = "match_random_gamma"
SKIPPED_GAMMA = "match_skipped_gamma"
# A level never seen among random pairs still has some chance: this many pseudo-pairs per level
# (additive smoothing) keep u > 0 and its weight finite.
U_PSEUDO_COUNT = 1.0
U_PRIOR_PAIRS = 1.0  # weight of the random-pair u when EM updates u
M_FLOOR = 1e-6  # m of a level EM empties, so log2(m/u) stays finite


@dataclass
class LevelParams:
    gamma: int
    label: str
    m: float
    u: float
    tf: bool = False  # u is adjusted per pair by the value's frequency (see predict.py)
    u_random: float | None = None  # u among random record pairs (the scale term frequencies are on)

    @property
    def weight(self) -> float:
        return math.log2(self.m / self.u)


@dataclass
class ComparisonParams:
    name: str
    column: str
    levels: list[LevelParams]
    tf_frequency: str | None = None  # frequency column (gamma table has <name>_l / _r)

    def level(self, gamma: int) -> LevelParams:
        return next(lv for lv in self.levels if lv.gamma == gamma)


@dataclass
class TrainedModel:
    """m, u and weight per comparison level; λ; how EM went. Readable JSON both ways."""

    comparisons: list[ComparisonParams]
    prior: float  # λ: share of matches among the pairs EM saw (candidates and the skipped pairs counted)
    total_records: int  # N for term frequencies: u_tf = frequency / N
    iterations: int
    converged: bool
    max_change: float  # largest parameter move in the last iteration
    candidate_pairs: int = 0
    skipped_pairs: int = 0  # pairs blocking skipped (pair_where) that EM counted, from their sample
    patterns: int = 0
    random_pairs: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    fingerprint: str = ""  # what it was trained on (see fingerprint()); "" in models before 2026-11-22
    trained_on: str | None = None  # the sync date it was trained in (ISO)

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def comparison(self, name: str) -> ComparisonParams:
        return next(c for c in self.comparisons if c.name == name)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["prior_weight"] = self.prior_weight
        for c, cd in zip(self.comparisons, d["comparisons"]):
            for lv, lvd in zip(c.levels, cd["levels"]):
                lvd["weight"] = lv.weight
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, d: dict) -> TrainedModel:
        d = dict(d)
        d.pop("prior_weight", None)
        comps = []
        for cd in d.pop("comparisons"):
            levels = [LevelParams(**{k: v for k, v in lv.items() if k != "weight"}) for lv in cd["levels"]]
            comps.append(ComparisonParams(cd["name"], cd["column"], levels, cd.get("tf_frequency")))
        return cls(comparisons=comps, **d)

    @classmethod
    def from_json(cls, text: str) -> TrainedModel:
        return cls.from_dict(json.loads(text))


# The code that decides which pairs training sees, what a level means and how m and u are
# estimated: a model trained by other code is not reused. (The standardisers that make the
# compared columns count too: their version is the dictionaries'.)
_MODEL_CODE = ["shiyou/matching/blocking.py", "shiyou/matching/comparisons.py", "shiyou/matching/dialect.py",
               "shiyou/matching/model.py", "shiyou/matching/similarity.py", "shiyou/matching/train.py"]
# Settings that decide what is done with a model's weights, not the weights: changing them
# does not call for a new model.
_NOT_TRAINING = {"match_probability", "review_probability", "retrain_after_days", "oversize_report_limit",
                 "different_id_override_weight"}


def fingerprint(cfg: MatchingConfig, sources: list[str]) -> str:
    """What a model depends on besides the data's day-to-day drift: the matching config (but the
    decision thresholds), the code above, the standardisers' version and which sources hold
    records (a source onboarded changes the mix of pairs)."""
    from shiyou.ingest.dictionaries import version as standardiser_version

    h = hashlib.sha256(cfg.model_dump_json(exclude={"settings": _NOT_TRAINING}).encode("utf-8"))
    for rel in _MODEL_CODE:
        h.update((ROOT / rel).read_bytes())
    h.update(standardiser_version().encode("utf-8"))
    h.update("\n".join(sorted(sources)).encode("utf-8"))
    return h.hexdigest()[:16]


def reusable(model: TrainedModel | None, current: str, today: dt.date | None, max_age_days: int) -> bool:
    """May this sync score with ``model`` (the previous release's) instead of training?

    Retraining every night re-estimates m and u from a slightly different sample, so pairs near a
    threshold flip and residents split or merge with no change in their records (87 new residents
    at 1M after two records were removed). Like a Splink user, shiyou trains, then scores with
    the saved model until it is ``max_age_days`` old or what it was trained on changes.
    """
    if model is None or not model.fingerprint or model.fingerprint != current:
        return False
    age = age_days(model, today)
    # A sync for an earlier date (a backfill) does not score with a model trained on later data.
    return age is not None and 0 <= age < max_age_days


def age_days(model: TrainedModel, today: dt.date | None) -> int | None:
    """Days from the sync that trained ``model`` to ``today`` (None when either is unknown)."""
    if today is None or model.trained_on is None:
        return None
    return (today - dt.date.fromisoformat(model.trained_on)).days


# --- SQL -------------------------------------------------------------------------------
def random_pairs_sql(cfg: MatchingConfig, n_records_hint: int, target_pairs: int,
                     tables: Tables = Tables(), dialect: str = "duckdb") -> str:
    """A deterministic sample of random record pairs: records ordered by an md5 digest of their
    uid (engine-independent, so DuckDB and Spark draw the same sample), each paired with the
    records k·step places further round the circle, k = 1 … K. No record meets itself.

    On DuckDB the records are numbered over a sorted subquery (``row_number() OVER ()`` keeps
    the order it is given, which DuckDB guarantees while ``preserve_insertion_order`` is on,
    its default and the sync's setting): the sort runs on every thread, where a window's
    ORDER BY sorted on one (0.36 against 0.78 s at 1M residents, the same numbers)."""
    n = max(n_records_hint, 2)
    k = max(1, min(math.ceil(target_pairs / n), n - 1))
    step = max(1, (n - 1) // (k + 1))
    offsets = ", ".join(f"({i * step})" for i in range(1, k + 1))
    digest = cfg.render("key_digest(record_uid)", dialect)
    no, records = quote_ident("record_no"), qname(tables.match_records)
    if dialect == "duckdb":
        numbered = (f"SELECT {no}, row_number() OVER () - 1 AS i, count(*) OVER () AS n "
                    f"FROM (SELECT {no} FROM {records} ORDER BY {digest}) AS d")
    else:
        numbered = f"SELECT {no}, row_number() OVER (ORDER BY {digest}) - 1 AS i, count(*) OVER () AS n FROM {records}"
    return (f"WITH o AS ({numbered}) "
            f"SELECT a.record_no AS record_no_l, b.record_no AS record_no_r, 'random' AS rule, "
            f"CAST(0 AS BIGINT) AS rules "
            f"FROM o AS a CROSS JOIN (VALUES {offsets}) AS s(off) "
            f"JOIN o AS b ON b.i = (a.i + s.off) % a.n "
            f"WHERE a.i < {math.ceil(target_pairs / k)}")


def pattern_counts_sql(cfg: MatchingConfig, gamma_table: str, skipped_gamma: str | None = None,
                       skipped_pairs: str | None = None) -> str:
    """The candidate pairs collapsed to their comparison patterns: what EM reads. With
    ``skipped_gamma`` (over ``skipped_pairs``), the training sample of the pairs blocking rules'
    pair_where skipped, each counted as the ``stands_for`` pairs it was drawn from: the pairs
    the rules found, as if none had been skipped."""
    cols = ", ".join(quote_ident(c.column) for c in cfg.comparisons)
    counts = f"SELECT {cols}, count(*) AS n FROM {qname(gamma_table)} GROUP BY {cols}"
    if not skipped_gamma:
        return counts
    gcols = ", ".join(f"g.{quote_ident(c.column)}" for c in cfg.comparisons)
    return (f"SELECT {cols}, sum(n) AS n FROM ({counts} UNION ALL SELECT {gcols}, sum(p.stands_for) AS n "
            f"FROM {qname(skipped_gamma)} AS g JOIN {qname(skipped_pairs)} AS p "
            f"ON p.record_no_l = g.record_no_l AND p.record_no_r = g.record_no_r GROUP BY {gcols}) AS c "
            f"GROUP BY {cols}")


def level_counts_sql(comparison: Comparison, gamma_table: str) -> str:
    col = quote_ident(comparison.column)
    return f"SELECT {col}, count(*) AS n FROM {qname(gamma_table)} GROUP BY {col}"


def statements(cfg: MatchingConfig, tables: Tables = Tables(), dialect: str = "duckdb") -> list:
    from shiyou.matching.blocking import Statement

    rnd = Tables(records=tables.records, match_records=tables.match_records, pairs=RANDOM_PAIRS)
    out = [Statement("train.random_pairs", random_pairs_sql(cfg, 1_000, 10_000, tables, dialect)),
           Statement("train.random_gamma", gamma_sql(cfg, rnd, dialect)),
           Statement("train.skipped_gamma", gamma_sql(cfg, _skipped(tables), dialect)),
           Statement("train.pattern_counts", pattern_counts_sql(cfg, tables.gamma, SKIPPED_GAMMA,
                                                                tables.skipped_pairs))]
    out += [Statement(f"train.u_counts.{c.name}", level_counts_sql(c, RANDOM_GAMMA)) for c in cfg.comparisons]
    return out


# --- EM ----------------------------------------------------------------------------------
@dataclass
class EMResult:
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float
    iterations: int
    converged: bool
    max_change: float


def initial_m(n_levels: int) -> np.ndarray:
    """Most of a match's mass on the strongest level, little on the else level (last)."""
    m = np.array([0.5 ** i for i in range(n_levels)], dtype=float)
    m[-1] = 0.05 * m.sum()
    return m / m.sum()


def em(patterns: np.ndarray, counts: np.ndarray, u: list[np.ndarray], m: list[np.ndarray] | None = None,
       prior: float = 0.3, max_iterations: int = 100, tolerance: float = 1e-6,
       update_u: bool = False) -> EMResult:
    """Expectation–maximisation over pattern counts.

    ``patterns``: P × C gamma values (-1 = not comparable), ``counts``: pairs per pattern,
    ``u[c]`` / ``m[c]``: probabilities of the comparable levels 0 … L-1 of comparison c.
    u stays fixed unless ``update_u`` (Splink's default: u from random pairs is better than
    what EM infers from blocked pairs, which are mostly near-matches).
    """
    patterns = np.asarray(patterns, dtype=np.int64)
    counts = np.asarray(counts, dtype=float)
    u = [np.asarray(x, dtype=float).copy() for x in u]
    u0 = [x.copy() for x in u]
    m = [initial_m(len(x)) for x in u] if m is None else [np.asarray(x, dtype=float).copy() for x in m]
    n_total = counts.sum()
    if n_total <= 0:  # no candidate pairs (a tiny or empty warehouse): nothing to learn
        return EMResult(m, u, prior, 0, True, 0.0)
    comparable = patterns >= 0
    # One-hot of each pattern's level per comparison: the M-step is then a matrix product.
    onehots = [(patterns[:, c, None] == np.arange(len(u[c]))[None, :]).astype(float) for c in range(len(u))]
    change, it, converged = math.inf, 0, False
    for it in range(1, max_iterations + 1):
        # E-step in log space: a pattern's log-odds of being a match.
        log_odds = np.full(len(counts), math.log(prior) - math.log1p(-prior))
        for c in range(len(u)):
            g = np.where(comparable[:, c], patterns[:, c], 0)
            term = np.log(m[c][g]) - np.log(u[c][g])
            log_odds += np.where(comparable[:, c], term, 0.0)
        p = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
        w_match, w_non = counts * p, counts * (1 - p)
        new_prior = w_match.sum() / n_total
        new_m, new_u = [], []
        for c in range(len(u)):
            mm = np.maximum(w_match @ onehots[c], 0)
            mm = np.maximum(mm / mm.sum(), M_FLOOR) if mm.sum() > 0 else m[c]
            new_m.append(mm / mm.sum())
            if update_u:
                # The random-pair u as a Dirichlet prior worth U_PRIOR_PAIRS pairs: a level no
                # non-match among the candidates shows keeps a small, finite u.
                uu = w_non @ onehots[c] + U_PRIOR_PAIRS * u0[c]
                new_u.append(uu / uu.sum())
            else:
                new_u.append(u[c])
        change = max([abs(new_prior - prior)] + [float(np.abs(a - b).max()) for a, b in zip(new_m, m)]
                     + [float(np.abs(a - b).max()) for a, b in zip(new_u, u)])
        prior, m, u = float(np.clip(new_prior, 1e-9, 1 - 1e-9)), new_m, new_u
        if change < tolerance:
            converged = True
            break
    return EMResult(m, u, prior, it, converged, change)


# --- the whole training ----------------------------------------------------------------
def _n_levels(c: Comparison) -> int:
    return sum(1 for lv in c.levels if not lv.is_null)


def estimate_u(con, cfg: MatchingConfig, tables: Tables = Tables(),
               target_pairs: int | None = None) -> tuple[list[np.ndarray], int]:
    """u per comparable level from a deterministic sample of random record pairs (smoothed)."""
    similarity.register(con)
    n = con.execute(f"SELECT count(*) FROM {qname(tables.match_records)}").fetchall()[0][0]
    target = target_pairs or cfg.settings.u_random_pairs
    scratch(con, RANDOM_PAIRS, random_pairs_sql(cfg, n, target, tables))
    rnd = Tables(records=tables.records, match_records=tables.match_records, pairs=RANDOM_PAIRS)
    scratch(con, RANDOM_GAMMA, gamma_sql(cfg, rnd))
    pairs = con.execute(f"SELECT count(*) FROM {RANDOM_GAMMA}").fetchall()[0][0]
    us = []
    for c in cfg.comparisons:
        counts = np.full(_n_levels(c), U_PSEUDO_COUNT)
        for g, k in con.execute(level_counts_sql(c, RANDOM_GAMMA)).fetchall():
            if g >= 0:
                counts[g] += k
        us.append(counts / counts.sum())
    return us, pairs


def _skipped(tables: Tables) -> Tables:
    """The tables as gamma_sql reads them, over the training sample of skipped pairs."""
    return Tables(records=tables.records, match_records=tables.match_records, pairs=tables.skipped_pairs)


def train(con, cfg: MatchingConfig, tables: Tables = Tables(), update_u: bool = True,
          target_pairs: int | None = None) -> TrainedModel:
    """u from random pairs, then EM for m and λ over the gamma table's pattern counts (and the
    training sample of the pairs blocking skipped, when blocking made one).

    ``update_u`` (default): EM also re-estimates u among the candidate pairs, starting from
    the random-pair u. Candidate non-matches are not random pairs — household members share
    flat, phone and household — and with u fixed EM calls every candidate a match (λ → 1 on
    the sample). u conditional on blocking is what scoring candidates needs.
    """
    t0 = time.perf_counter()
    u, n_random = estimate_u(con, cfg, tables, target_pairs)
    t1 = time.perf_counter()
    skipped = None
    if table_exists(con, tables.skipped_pairs, "temp"):  # blocking made it (a TEMP table, as every scratch)
        scratch(con, SKIPPED_GAMMA, gamma_sql(cfg, _skipped(tables)))
        skipped = SKIPPED_GAMMA
    rows = con.execute(pattern_counts_sql(cfg, tables.gamma, skipped, tables.skipped_pairs)).fetchall()
    patterns = np.array([r[:-1] for r in rows], dtype=np.int64).reshape(len(rows), len(cfg.comparisons))
    counts = np.array([r[-1] for r in rows], dtype=float)
    t2 = time.perf_counter()
    res = em(patterns, counts, u, max_iterations=cfg.settings.em_max_iterations,
             tolerance=cfg.settings.em_tolerance, update_u=update_u)
    t3 = time.perf_counter()
    n_records = con.execute(f"SELECT count(*) FROM {qname(tables.match_records)}").fetchall()[0][0]
    n_candidates = con.execute(f"SELECT count(*) FROM {qname(tables.gamma)}").fetchall()[0][0]
    comps = []
    for i, c in enumerate(cfg.comparisons):
        tf = c.term_frequencies[0] if c.term_frequencies else None
        labels = c.level_labels()
        levels = [LevelParams(g, labels[g], float(res.m[i][g]), float(res.u[i][g]),
                              tf=bool(tf) and labels[g] in cfg.settings.tf_levels, u_random=float(u[i][g]))
                  for g in range(_n_levels(c))]
        comps.append(ComparisonParams(c.name, c.column, levels, tf))
    return TrainedModel(comps, res.prior, int(n_records), res.iterations, res.converged, res.max_change,
                        candidate_pairs=n_candidates, skipped_pairs=int(counts.sum()) - n_candidates,
                        patterns=len(rows), random_pairs=int(n_random),
                        seconds={"u": round(t1 - t0, 3), "patterns": round(t2 - t1, 3), "em": round(t3 - t2, 3)})
