"""Clustering: connected components over match pairs, with the different-anchor-ID safeguard.

Small graphs through the real SQL on DuckDB; the sample district end to end against its truth.
"""

from __future__ import annotations

import pytest

from shiyou.matching import cluster as cl
from shiyou.matching.blocking import Tables
from shiyou.matching.model import load_matching_config
from tests.unit.matching import truth

CFG = load_matching_config()


def _graph(duck, records: dict[str, str | None], pairs: list[tuple[str, str, float]], cfg=CFG):
    """records: uid -> anchor ID (or None); pairs: (uid, uid, weight), 'match' when weight >= 7."""
    duck.execute("CREATE OR REPLACE TABLE match_records (record_uid VARCHAR, id_anchor VARCHAR, id_number VARCHAR, "
                 "name_is_minority BOOLEAN)").fetchall()
    duck.executemany("INSERT INTO match_records VALUES (?, ?, ?, false)", [(u, a, a) for u, a in records.items()])
    # The matcher numbers records in record_uid order (blocking.records_sql) and keys pairs by number.
    duck.execute("CREATE OR REPLACE TABLE match_records AS SELECT *, row_number() OVER (ORDER BY record_uid) "
                 "AS record_no FROM match_records").fetchall()
    duck.execute("CREATE OR REPLACE TABLE test_scores (uid_l VARCHAR, uid_r VARCHAR, "
                 "match_weight DOUBLE, match_probability DOUBLE, decision VARCHAR)").fetchall()
    rows = [(min(a, b), max(a, b), w, 1 / (1 + 2 ** -w), "match" if w >= 7 else "review") for a, b, w in pairs]
    if rows:
        duck.executemany("INSERT INTO test_scores VALUES (?, ?, ?, ?, ?)", rows)
    duck.execute("CREATE OR REPLACE TABLE match_scores AS SELECT l.record_no AS record_no_l, r.record_no AS "
                 "record_no_r, s.match_weight, s.match_probability, s.decision FROM test_scores s "
                 "JOIN match_records l ON l.record_uid = s.uid_l JOIN match_records r ON r.record_uid = s.uid_r"
                 ).fetchall()
    # Names agree on every pair (the one_id_two_names rule has its own test).
    duck.execute(f"CREATE OR REPLACE TABLE match_gamma AS SELECT record_no_l, record_no_r, "
                 f"{cfg.comparison('name').gamma_of('exact')} AS gamma_name FROM match_scores").fetchall()
    report = cl.cluster(duck, cfg, Tables(records="match_records"))
    got = dict(duck.execute("SELECT record_uid, cluster_id FROM match_clusters").fetchall())
    return report, got


def _groups(got: dict[str, str]) -> set[frozenset[str]]:
    out: dict[str, set[str]] = {}
    for uid, c in got.items():
        out.setdefault(c, set()).add(uid)
    return {frozenset(v) for v in out.values()}


def test_components_follow_match_pairs_only_and_every_record_is_placed_once(duck):
    recs = {u: None for u in "abcdefg"}
    report, got = _graph(duck, recs, [("a", "b", 20), ("b", "c", 9), ("d", "e", 12), ("e", "f", 3)])
    assert _groups(got) == {frozenset("abc"), frozenset("de"), frozenset("f"), frozenset("g")}
    assert set(got) == set(recs)
    assert got["c"] == "a"  # named by the smallest record_uid
    assert report.clusters == 4 and report.sizes == {1: 2, 2: 1, 3: 1}


def test_a_long_chain_converges(duck):
    uids = [f"r{i:03d}" for i in range(40)]
    _, got = _graph(duck, {u: None for u in uids}, list(zip(uids[::-1], uids[-2::-1], [10.0] * 39)))
    assert len(set(got.values())) == 1


def _union_find(uids: list[str], pairs) -> set[frozenset[str]]:
    find = truth.union_find(pairs)
    out: dict[str, set[str]] = {}
    for u in uids:
        out.setdefault(find(u), set()).add(u)
    return {frozenset(v) for v in out.values()}


@pytest.mark.parametrize("seed", range(8))
def test_components_equal_union_find_on_random_graphs(duck, seed):
    """Rounds read only the neighbours that changed last round: on random trees and chains
    whose record numbers are in random order, the clusters are still the graph's components.
    A round that forgot the changes made by pointer jumping split 26 of 60 such graphs of
    600 records (6 of these 8)."""
    import random

    rng = random.Random(seed)
    uids = [f"u{i:04d}" for i in range(600)]
    rng.shuffle(uids)
    pairs, at = [], 0
    while at < len(uids):
        size = rng.choice([1, 2, 3, 5, 8, 20, 45])
        part, at = uids[at:at + size], at + size
        for i in range(1, len(part)):
            pairs.append((part[i], rng.choice(part[:i]) if rng.random() < 0.5 else part[i - 1], 10.0))
    report, got = _graph(duck, {u: None for u in uids}, pairs)
    assert _groups(got) == _union_find(uids, pairs)
    assert report.rounds > 2


def test_two_different_anchor_ids_in_one_pair_are_cut(duck):
    """Twins (or same-name, same-birthday neighbours): a strong pair, but two valid IDs."""
    report, got = _graph(duck, {"a": "ID1", "b": "ID2", "c": "ID1"}, [("a", "b", 25), ("a", "c", 30)])
    assert _groups(got) == {frozenset("ac"), frozenset("b")}
    assert report.cut_pairs == 1
    assert duck.execute("SELECT l.record_uid, r.record_uid FROM match_cut_pairs c JOIN match_records l "
                        "ON l.record_no = c.record_no_l JOIN match_records r ON r.record_no = c.record_no_r"
                        ).fetchall() == [("a", "b")]


def test_a_chain_through_records_without_an_id_is_split_at_its_weakest_side(duck):
    """a(ID1) – x – b(ID2): x joins the anchor it is more strongly linked to; y follows x."""
    report, got = _graph(duck, {"a": "ID1", "b": "ID2", "x": None, "y": None, "a2": "ID1"},
                         [("a", "x", 30), ("x", "b", 12), ("x", "y", 20), ("a", "a2", 40)])
    assert _groups(got) == {frozenset({"a", "a2", "x", "y"}), frozenset({"b"})}
    assert report.conflicted_components == 1


def test_a_household_members_id_typed_by_mistake_does_not_anchor(duck, tmp_path):
    """The anchor is computed from the record: a valid ID whose birth month disagrees with the
    record's own is no anchor (matching.yaml record_columns.id_anchor)."""
    from shiyou.matching import blocking
    from tests.unit.matching.records import load, make_id, record

    son = make_id("440106", "20050101", "011")
    father = make_id("440106", "19780603", "173")
    rows = [record("f1", name="罗达国", id_number=father, birth="1978-06-03", sex="1"),
            record("f2", name="罗达国", id_number=son, birth="1978-06-03", sex="1"),  # the son's number
            record("s1", name="罗达", id_number=son, birth="2005-01-01", sex="1")]
    load(duck, CFG, rows)
    blocking.run(duck, f"CREATE OR REPLACE TABLE match_records AS {blocking.records_sql(CFG)}")
    anchors = dict(duck.execute("SELECT record_uid, id_anchor FROM match_records").fetchall())
    assert anchors == {"f1": father, "f2": None, "s1": son}


def test_one_id_on_two_unrelated_han_names_is_cut(duck):
    """重号, or a household member's number: same anchor ID, names sharing nothing."""
    _graph(duck, {"a": "ID1", "b": "ID1", "c": "ID1"}, [("a", "b", 12), ("a", "c", 14)])
    duck.execute(f"UPDATE match_gamma SET gamma_name = {CFG.comparison('name').gamma_of('different')} "
                 f"WHERE record_no_r = (SELECT record_no FROM match_records WHERE record_uid = 'c')").fetchall()
    report = cl.cluster(duck, CFG, Tables(records="match_records"))
    got = dict(duck.execute("SELECT record_uid, cluster_id FROM match_clusters").fetchall())
    assert _groups(got) == {frozenset("ab"), frozenset("c")}
    assert duck.execute("SELECT cut_by FROM match_cut_pairs").fetchall() == [("one_id_two_names",)]
    assert report.cut_pairs == 1


def test_override_weight_lets_overwhelming_evidence_through(duck):
    cfg = CFG.model_copy(update={"settings": CFG.settings.model_copy(update={"different_id_override_weight": 50.0})})
    _, got = _graph(duck, {"a": "ID1", "b": "ID2", "c": "ID3"}, [("a", "b", 60), ("a", "c", 30)], cfg)
    assert _groups(got) == {frozenset("ab"), frozenset("c")}


def test_match_score_is_the_strongest_link_inside_the_cluster(duck):
    _graph(duck, {"a": None, "b": None, "c": None, "d": None}, [("a", "b", 20), ("b", "c", 8)])
    scores = dict(duck.execute("SELECT record_uid, match_score FROM match_clusters").fetchall())
    assert scores["a"] == pytest.approx(1 / (1 + 2 ** -20)) and scores["c"] == pytest.approx(1 / (1 + 2 ** -8))
    assert scores["d"] is None


def test_sample_clusters_against_the_truth(trained):
    """The bundled sample: pairwise precision and recall after clustering."""
    con = trained.con
    cl.cluster(con, CFG, Tables(records="wh.source_records"))
    con.execute("CREATE OR REPLACE TEMP TABLE pred AS SELECT a.record_uid AS record_uid_l, b.record_uid AS "
                "record_uid_r FROM match_clusters a JOIN match_clusters b ON a.cluster_id = b.cluster_id "
                "AND a.record_uid < b.record_uid").fetchall()
    tp, n_pred = con.execute("SELECT count(t.person_id), count(*) FROM pred p LEFT JOIN truth_pairs t "
                             "USING (record_uid_l, record_uid_r)").fetchall()[0]
    n_true = con.execute("SELECT count(*) FROM truth_pairs").fetchall()[0][0]
    assert tp / n_pred >= 0.998 and tp / n_true >= 0.998  # 100k figures: docs/matching.md
    # Every record once.
    assert con.execute("SELECT count(*), count(DISTINCT record_uid) FROM match_clusters").fetchall()[0] == \
        con.execute("SELECT count(*), count(*) FROM wh.source_records").fetchall()[0]
