"""Training: EM recovers known m, u and λ from pattern counts; the sample's model round-trips."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from shiyou.matching.train import TrainedModel, em, pattern_counts_sql, random_pairs_sql
from shiyou.matching.model import load_matching_config

CFG = load_matching_config()


def _expected_counts(m, u, prior, n, missing=()):
    """Exact expected pattern counts of a two-class mixture (conditionally independent
    comparisons). With these as data, the true parameters are a fixed point of EM and, from a
    reasonable start, where it converges — so EM is checked without sampling noise."""
    levels = [range(-1 if c in missing else 0, len(m[c])) for c in range(len(m))]
    pats, counts = [], []
    for pat in itertools.product(*levels):
        pm = pu = 1.0
        for c, g in enumerate(pat):
            miss = 0.1 if c in missing else 0.0  # a missing value is as likely for both classes
            pm *= miss if g < 0 else (1 - miss) * m[c][g]
            pu *= miss if g < 0 else (1 - miss) * u[c][g]
        pats.append(pat)
        counts.append(n * (prior * pm + (1 - prior) * pu))
    return np.array(pats), np.array(counts)


CASES = [
    # name, m per comparison, u per comparison, λ, comparisons with a "not comparable" level
    ("three comparisons, 3 levels each", [[0.9, 0.08, 0.02], [0.85, 0.1, 0.05], [0.7, 0.2, 0.1]],
     [[0.01, 0.09, 0.9], [0.02, 0.08, 0.9], [0.05, 0.15, 0.8]], 0.3, ()),
    ("rare matches, binary comparisons", [[0.95, 0.05], [0.9, 0.1], [0.8, 0.2], [0.85, 0.15]],
     [[0.05, 0.95], [0.1, 0.9], [0.3, 0.7], [0.2, 0.8]], 0.05, ()),
    ("a comparison often not comparable (-1 weighs nothing)", [[0.9, 0.1], [0.8, 0.15, 0.05], [0.9, 0.1]],
     [[0.1, 0.9], [0.05, 0.15, 0.8], [0.2, 0.8]], 0.4, (1,)),
]


@pytest.mark.parametrize("name, m, u, prior, missing", CASES, ids=[c[0] for c in CASES])
def test_em_recovers_known_m_and_prior_with_u_fixed(name, m, u, prior, missing):
    pats, counts = _expected_counts(m, u, prior, 1e6, missing)
    res = em(pats, counts, [np.array(x) for x in u], max_iterations=2000, tolerance=1e-10)
    assert res.converged
    assert res.prior == pytest.approx(prior, abs=1e-4)
    for got, want in zip(res.m, m):
        assert got == pytest.approx(want, abs=1e-3)


@pytest.mark.parametrize("name, m, u, prior, missing", CASES, ids=[c[0] for c in CASES])
def test_em_recovers_u_too_when_updating_it_from_a_rough_start(name, m, u, prior, missing):
    pats, counts = _expected_counts(m, u, prior, 1e6, missing)
    rough = [np.full(len(x), 1.0 / len(x)) * 0.5 + np.array(x) * 0.5 for x in u]  # half-way to uniform
    res = em(pats, counts, rough, max_iterations=5000, tolerance=1e-12, update_u=True)
    assert res.prior == pytest.approx(prior, abs=1e-2)
    for got, want in zip(res.u, u):
        assert got == pytest.approx(want, abs=1e-2)


def test_random_pairs_are_deterministic_distinct_and_never_self(duck):
    duck.execute("CREATE TABLE match_records AS SELECT 'r' || i AS record_uid, i + 1 AS record_no FROM range(50) t(i)")
    sql = random_pairs_sql(CFG, 50, 400)
    a, b = duck.execute(sql).fetchall(), duck.execute(sql).fetchall()
    assert sorted(a) == sorted(b) and len(a) >= 400
    assert all(l != r for l, r, *_ in a)
    assert len({(l, r) for l, r, *_ in a}) == len(a)


def test_random_pairs_are_the_same_sample_on_every_engine(duck):
    """DuckDB numbers the records over a sorted subquery, other engines with a window's ORDER
    BY: the same digest order, so the same pairs (here the other engine's form runs on DuckDB)."""
    duck.execute("CREATE TABLE match_records AS SELECT 'r' || i AS record_uid, i + 1 AS record_no FROM range(3000) t(i)")
    ours, theirs = random_pairs_sql(CFG, 3000, 9000), random_pairs_sql(CFG, 3000, 9000, dialect="spark")
    assert "ORDER BY MD5" in ours.upper() and "OVER (ORDER BY" not in ours and "OVER (ORDER BY" in theirs
    got = duck.execute(ours).fetchall()
    assert len(got) >= 9000 and sorted(got) == sorted(duck.execute(theirs).fetchall())


def test_model_trains_on_the_sample_and_round_trips_through_json(trained):
    model = trained.model
    assert model.converged and 0.3 < model.prior < 0.6  # about 0.42 of candidates are true pairs
    text = model.to_json()
    assert '"weight"' in text and '"label": "exact"' in text
    back = TrainedModel.from_json(text)
    assert back == model
    for c in model.comparisons:
        for lv in c.levels:
            assert lv.weight == pytest.approx(math.log2(lv.m / lv.u))
    # Agreement on a strong identifier is evidence for a match, disagreement on birth date against.
    assert model.comparison("id").level(0).weight > 5
    assert model.comparison("birth_date").level(CFG.comparison("birth_date").gamma_of("different")).weight < -3
    assert model.comparison("name").level(0).tf and model.comparison("phone").tf_frequency == "phone_records"


def test_pattern_counts_are_few(trained):
    """EM reads patterns, not pairs: far fewer rows than candidate pairs."""
    assert trained.model.patterns < trained.model.candidate_pairs / 5
    assert "GROUP BY" in pattern_counts_sql(CFG, "match_gamma")


def test_skipped_pairs_count_as_the_pairs_they_stand_for(duck, trained):
    """EM sees what the rules found: candidates once, each sampled skipped pair (blocking's
    pair_where) as many times as the sample's rate. On the sample every skipped pair is kept."""
    cols = [c.column for c in CFG.comparisons]
    zero = ", ".join(f"0 AS {c}" for c in cols)
    one = ", ".join(f"1 AS {c}" for c in cols)
    duck.execute(f"CREATE TABLE g AS SELECT 1 AS record_no_l, 2 AS record_no_r, {zero} "
                 f"UNION ALL SELECT 1, 3, {zero}")
    duck.execute(f"CREATE TABLE sg AS SELECT 4 AS record_no_l, 5 AS record_no_r, {zero} "
                 f"UNION ALL SELECT 4, 6, {one}")
    duck.execute("CREATE TABLE sp AS SELECT * FROM (VALUES (4, 5, 4), (4, 6, 4)) AS t(record_no_l, record_no_r, stands_for)")
    counts = {row[0]: row[-1] for row in duck.execute(pattern_counts_sql(CFG, "g", "sg", "sp")).fetchall()}
    assert counts == {0: 2 + 4, 1: 4}
    m = trained.model
    n_skipped, n_gamma = trained.con.execute("SELECT (SELECT count(*) FROM match_skipped_pairs), "
                                             "(SELECT count(*) FROM match_gamma)").fetchall()[0]
    assert m.skipped_pairs == n_skipped > 0 and m.candidate_pairs == n_gamma


def test_em_without_candidate_pairs_keeps_its_start_and_stays_finite():
    res = em(np.zeros((0, 2), dtype=np.int64), np.zeros(0), [np.array([0.5, 0.5]), np.array([0.2, 0.8])])
    assert res.iterations == 0 and 0 < res.prior < 1
    assert all(np.isfinite(x).all() for x in res.m + res.u)


def test_a_saved_model_is_reused_only_while_young_and_trained_on_the_same_things():
    import datetime as dt

    from shiyou.matching.train import fingerprint, reusable

    cfg = load_matching_config()
    sources = ["civil_affairs", "police"]
    fp = fingerprint(cfg, sources)
    assert fingerprint(cfg, list(reversed(sources))) == fp  # order of sources does not matter
    assert fingerprint(cfg, sources + ["labour"]) != fp  # a source onboarded: retrain
    changed = cfg.model_copy(deep=True)
    changed.settings.em_tolerance = 1e-5
    assert fingerprint(changed, sources) != fp  # a change to what training does: retrain
    changed = cfg.model_copy(deep=True)
    changed.settings.match_probability = 0.995
    changed.settings.retrain_after_days = 7
    assert fingerprint(changed, sources) == fp  # a decision threshold: the same weights serve
    changed = cfg.model_copy(deep=True)
    changed.comparisons[0].levels[1].sql = "l.id_number = r.id_number AND true"
    assert fingerprint(changed, sources) != fp  # what a level means
    model = TrainedModel([], 0.1, 10, 1, True, 0.0, fingerprint=fp, trained_on="2026-11-01")
    day = dt.date(2026, 11, 21)
    assert reusable(model, fp, day, 30)
    assert not reusable(model, fp, day, 20)  # 20 days old
    assert not reusable(model, fp, day, 0)  # 0: train every sync
    assert not reusable(model, "other", day, 30)
    assert not reusable(model, fp, None, 30)
    assert not reusable(model, fp, dt.date(2026, 10, 31), 30)  # a backfill before the training date
    assert not reusable(TrainedModel([], 0.1, 10, 1, True, 0.0), fp, day, 30)  # a model saved before fingerprints
    back = TrainedModel.from_json(model.to_json())
    assert (back.fingerprint, back.trained_on) == (fp, "2026-11-01")
