"""Blocking on the bundled sample (pair counts, recall against the ground truth, block-size
guards, the hard cases) and on small hand-made record sets (ID typos, paths, partitions)."""

from __future__ import annotations

import copy

import duckdb
import pytest
import yaml

from shiyou.matching import blocking
from shiyou.matching.model import MATCHING_YAML, load_matching_config
from tests.unit.matching import truth
from tests.unit.matching.records import load, make_id, record

CFG = load_matching_config()


def _config(**changes) -> object:
    """The shipped config with some rules' max_block_size changed, or settings replaced."""
    data = copy.deepcopy(yaml.safe_load(MATCHING_YAML.read_text(encoding="utf-8")))
    for rule in data["blocking"]:
        if rule["name"] in changes:
            rule["max_block_size"] = changes[rule["name"]]
    data["settings"].update(changes.get("settings", {}))
    return load_matching_config(data=data)


# --- the sample district ---------------------------------------------------------------------
def test_every_rule_yields_pairs_and_counts_add_up(sample):
    rep = sample.report
    for r in rep.rules:
        assert r.pairs > 0, f"rule {r.rule} produced nothing on the sample"
    assert sum(r.first_pairs for r in rep.rules) == rep.pairs
    n_distinct = sample.con.execute("SELECT count(*) FROM (SELECT DISTINCT record_no_l, record_no_r "
                                    "FROM match_pairs_by_rule WHERE NOT skipped)").fetchall()[0][0]
    assert n_distinct == rep.pairs
    bad = sample.con.execute("SELECT count(*) FROM match_pairs WHERE record_no_l >= record_no_r").fetchall()[0][0]
    assert bad == 0
    print("\n".join(rep.lines()))


def test_first_rule_is_the_earliest_that_produced_the_pair(sample):
    order = {r.name: i for i, r in enumerate(CFG.blocking)}
    rows = sample.con.execute("SELECT p.rule, list(b.rule) FROM match_pairs p JOIN match_pairs_by_rule b "
                              "USING (record_no_l, record_no_r) WHERE NOT b.skipped "
                              "GROUP BY p.record_no_l, p.record_no_r, p.rule LIMIT 2000").fetchall()
    for first, produced in rows:
        assert first == min(produced, key=order.get)


def test_recall_against_the_ground_truth(sample):
    """Pairwise: true pairs that are candidate pairs. Reachable: true pairs joined through a
    chain of true candidate pairs — what clustering can at best recover (measured: 1.0)."""
    pairwise = truth.recall(sample.con)
    reach = truth.reachable_recall(sample.con)
    print(pairwise, reach)
    assert pairwise["recall"] >= 0.995
    assert reach["reachable_recall"] == 1.0 and reach["persons_split"] == 0


def test_no_rule_expands_a_block_above_its_max(sample):
    """A record in a kept block of size n has at most n - 1 partners under that rule."""
    degree = dict(sample.con.execute(
        "SELECT rule, max(n) FROM (SELECT rule, no, count(*) AS n FROM ("
        "SELECT rule, record_no_l AS no FROM match_pairs_by_rule UNION ALL "
        "SELECT rule, record_no_r FROM match_pairs_by_rule) GROUP BY rule, no) GROUP BY rule").fetchall())
    for r in CFG.blocking:
        if r.shape != "path":  # a path may reach one start's partners through several blocks
            assert degree[r.name] <= CFG.max_block_size(r) - 1, r.name
    assert all(rep.oversized_blocks == 0 for rep in sample.report.rules)  # none needed on the sample


def test_oversized_blocks_are_skipped_and_reported_masked(sample_warehouse):
    cfg = _config(phone=3, name_birth_date=2)
    con = duckdb.connect()
    con.execute("ATTACH ? AS wh (READ_ONLY)", [str(sample_warehouse / "shiyou.duckdb")]).fetchall()
    rep = blocking.run_blocking(con, cfg, blocking.Tables(records="wh.source_records"))
    phone = rep.rule("phone")
    assert phone.oversized_blocks > 0 and phone.oversized_records >= 4 * phone.oversized_blocks
    assert len(phone.largest_blocks) <= cfg.settings.oversize_report_limit
    for key, size in phone.largest_blocks:
        assert size > 3
        assert key[0] in "01" and set(key[1:]) == {"*"}, "phone keys leave masked"
    biggest = phone.largest_blocks[0][1]
    skipped = con.execute("SELECT count(*) FROM (SELECT phone FROM match_records WHERE phone IS NOT NULL "
                          "GROUP BY phone HAVING count(*) = ?) b JOIN match_records l USING (phone) "
                          "JOIN match_pairs_by_rule p ON p.record_no_l = l.record_no AND p.rule = 'phone'",
                          [biggest]).fetchall()[0][0]
    assert skipped == 0, "a skipped block produced pairs"
    assert rep.rule("name_birth_date").oversized_blocks > 0
    con.close()


def test_husband_only_records_reach_a_true_partner(sample):
    """Family-planning husbands (name only, often no ID, no birth date) meet at least one of
    their own other records — through household and address rules where the ID is missing."""
    rows = sample.con.execute(
        "SELECT h.record_uid, h.id_status, list(DISTINCT p.rule) FILTER (WHERE p.rule IS NOT NULL) FROM match_records h "
        "JOIN truth t ON t.record_uid = h.record_uid "
        "JOIN truth o ON o.person_id = t.person_id AND o.record_uid <> h.record_uid "
        "LEFT JOIN match_pairs p ON (p.record_no_l = h.record_no AND p.record_no_r = o.record_no) "
        "OR (p.record_no_r = h.record_no AND p.record_no_l = o.record_no) "
        "WHERE h.family_role = 'husband' GROUP BY h.record_uid, h.id_status").fetchall()
    assert len(rows) > 50
    unreached = [uid for uid, _, rules in rows if not rules]
    assert not unreached, f"{len(unreached)} husbands meet none of their records"
    no_id = [rules for _, status, rules in rows if status == "missing"]
    via_place = [r for r in no_id if set(r) & {"flat_sparse", "road_number_name", "partner_household",
                                                 "partner_household_by_name", "flat_birth_month", "phone"}]
    assert len(via_place) == len(no_id)


def test_twins_are_compared_and_their_ids_are_different_valid(sample):
    rows = sample.con.execute(
        "SELECT g.gamma_id FROM match_gamma g JOIN truth a ON a.record_no = g.record_no_l "
        "JOIN truth b ON b.record_no = g.record_no_r JOIN persons pa ON pa.person_id = a.person_id "
        "JOIN persons pb ON pb.person_id = b.person_id JOIN match_records l ON l.record_no = g.record_no_l "
        "JOIN match_records r ON r.record_no = g.record_no_r "
        "WHERE a.person_id <> b.person_id AND pa.flags LIKE '%twin%' AND pb.flags LIKE '%twin%' "
        "AND l.id_status = 'valid' AND r.id_status = 'valid' AND l.household_id = r.household_id").fetchall()
    assert rows, "twins should be candidate pairs (same household, surname, birth date)"
    assert {g for (g,) in rows} == {CFG.comparison("id").gamma_of("different_valid")}


def test_every_candidate_pair_gets_a_level_for_every_comparison(sample):
    cols = " + ".join(f"({c.column} IS NULL)::INT" for c in CFG.comparisons)
    assert sample.con.execute(f"SELECT sum({cols}) FROM match_gamma").fetchall()[0][0] == 0
    assert sample.gamma.pairs == sample.report.pairs


# --- hand-made record sets --------------------------------------------------------------------
def _block(cfg, rows):
    con = duckdb.connect()
    load(con, cfg, rows)
    rep = blocking.run_blocking(con, cfg)
    # Pairs by record_uid (the matcher keys them by record_no, the record's place in uid order).
    pairs = {(a, b): rule for a, b, rule in con.execute(
        "SELECT l.record_uid, r.record_uid, p.rule FROM match_pairs_by_rule p "
        "JOIN match_records l ON l.record_no = p.record_no_l JOIN match_records r ON r.record_no = p.record_no_r "
        "WHERE NOT p.skipped").fetchall()}
    return con, rep, pairs


def test_id_one_edit_finds_a_mistyped_or_swapped_digit_and_not_twins():
    t = make_id("440106", "19850314", "123")
    twin = make_id("440106", "19850314", "125")
    typo = t[:9] + str((int(t[9]) + 1) % 10) + t[10:]
    swap = t[:14] + t[15] + t[14] + t[16:]
    typo17 = t[:12] + str((int(t[12]) + 3) % 10) + t[13:17]  # 17 digits: check computed on a wrong body
    rows = [record("a", name="甲", id_number=t), record("b", name="乙", id_number=typo),
            record("c", name="丙", id_number=swap), record("d", name="丁", id_number=twin),
            record("e", name="戊", id_number=typo17)]
    _, rep, pairs = _block(CFG, rows)
    got = {k for k, rule in pairs.items() if rule == "id_one_edit"}
    assert got == {("a", "b"), ("a", "c"), ("a", "e")}
    assert ("a", "d") not in pairs, "twins' valid IDs are never one edit apart"


def test_partner_household_path_links_a_husband_with_a_wrong_name():
    """Wife and husband on one family-planning row; her police household holds him as spouse."""
    t = make_id("440106", "19870101", "222")
    rows = [
        record("fp:1-F", name="周文悦", id_number=t, role="wife", source="fp", line_no=5,
               address=("天府路", "1", "1", "101")),
        record("fp:1-M", name="罗达困", role="husband", source="fp", line_no=5, address=("天府路", "1", "1", "101")),
        record("police:W", name="周文悦", id_number=t, household_id="H1", relation_to_head="02",
               address=("珠吉路", "9", "2", "808")),
        record("police:H", name="罗达国", id_number=make_id("440106", "19850101", "333"), household_id="H1",
               relation_to_head="10", address=("珠吉路", "9", "2", "808")),
        record("police:S", name="罗小国", id_number=make_id("440106", "20100101", "335"), household_id="H1",
               relation_to_head="20", address=("珠吉路", "9", "2", "808")),
    ]
    _, _, pairs = _block(CFG, rows)
    assert pairs.get(("fp:1-M", "police:H")) == "partner_household"
    assert ("fp:1-M", "police:S") not in pairs, "the son is not head or spouse"


def test_local_rules_take_the_partition_at_city_scale():
    cfg = _config(settings={"local_partition": "address_district"})
    local = blocking.rule_sql(cfg, cfg.rule("flat_birth_month"))
    glob = blocking.rule_sql(cfg, cfg.rule("name_birth_date"))
    assert '"address_district"' in local and "address_district" not in glob
    flat = ("天府路", "1", "1", "101")
    rows = [record("a", name="张伟", birth="1985-03-14", address=flat), record("b", name="李娜", birth="1985-03-20",
                                                                               address=flat)]
    rows[0]["address_district"], rows[1]["address_district"] = "天河区", "越秀区"
    _, _, pairs = _block(cfg, rows)
    assert ("a", "b") not in pairs  # same flat text, two districts: not the same flat
    rows[1]["address_district"] = "天河区"
    _, _, pairs = _block(cfg, rows)
    assert pairs.get(("a", "b")) == "flat_birth_month"


def test_a_shared_landline_alone_never_explodes():
    rows = [record(f"r{i:03d}", name=f"人{i}", phone="02087654321") for i in range(60)]
    _, rep, pairs = _block(CFG, rows)
    phone = rep.rule("phone")
    assert phone.pairs == 0 and phone.oversized_blocks == 1 and phone.oversized_records == 60
    assert phone.largest_blocks == [("0**********", 60)]


def _anchor_pairs(con, rule: str, tables: str) -> set:
    """Pairs of one phone or household block (max size kept) whose two records carry different
    anchor IDs: what the rule's pair_where turns away, computed here without blocking's SQL."""
    key = {"phone": "phone", "household": "household_id"}[rule]
    limit = CFG.max_block_size(CFG.rule(rule))
    return set(con.execute(
        f"WITH b AS (SELECT record_no, {key} AS k, id_anchor FROM {tables} WHERE {key} IS NOT NULL "
        f"AND {key} IN (SELECT {key} FROM {tables} GROUP BY {key} HAVING count(*) <= {limit})) "
        f"SELECT l.record_no, r.record_no FROM b AS l JOIN b AS r ON l.k = r.k AND l.record_no < r.record_no "
        f"WHERE l.id_anchor <> r.id_anchor").fetchall())


@pytest.mark.parametrize("rule", ["phone", "household"])
def test_phone_and_household_never_pair_two_different_anchor_ids(sample, rule):
    """Two records with different trusted IDs are never one resident (cannot_link), so the two
    context rules do not make candidates of them. In a district this small (under 500,000
    records) every such pair is still compared for training, marked skipped."""
    turned_away = _anchor_pairs(sample.con, rule, "match_records")
    assert len(turned_away) > 50  # household members with their own IDs: the sample has many
    rows = sample.con.execute("SELECT record_no_l, record_no_r, skipped FROM match_pairs_by_rule WHERE rule = ?",
                              [rule]).fetchall()
    assert {(a, b) for a, b, skipped in rows if skipped} == turned_away
    assert not {(a, b) for a, b, skipped in rows if not skipped} & turned_away
    rep = sample.report.rule(rule)
    assert rep.skipped_sample == 1 and rep.skipped_estimate == len(turned_away)
    # The training sample: every skipped pair no rule made a candidate, with the rules that skipped it.
    skipped = set(sample.con.execute("SELECT record_no_l, record_no_r FROM match_skipped_pairs").fetchall())
    candidates = set(sample.con.execute("SELECT record_no_l, record_no_r FROM match_pairs").fetchall())
    assert turned_away - candidates <= skipped and not skipped & candidates


def test_a_large_district_samples_the_skipped_pairs_for_training():
    """One skipped pair in records ÷ skipped_pairs_sample_per (at most the max) is kept; which ones
    is decided by the two record numbers alone, evenly, also for pairs of neighbouring numbers
    (a household's records follow one another)."""
    assert CFG.skipped_pairs_sample(4_448) == 1
    assert CFG.skipped_pairs_sample(660_000) == 2
    assert CFG.skipped_pairs_sample(2_200_824) == CFG.skipped_pairs_sample(20_000_000) == 8
    con = duckdb.connect()
    for gap in (1, 2, 3, 8, 16, 1000):
        share = con.execute(f"SELECT avg(CASE WHEN {blocking.sample_sql('i', f'i + {gap}', 8)} THEN 1 ELSE 0 END) "
                            f"FROM range(1, 200001) AS t(i)").fetchall()[0][0]
        assert 0.118 < share < 0.132, (gap, share)


def test_skipped_pairs_stand_for_their_sample_in_training():
    """A shared phone among six people: one pair is a person's two records, the rest are
    different anchor IDs. With the sample at one in three, the pairs blocking keeps apart for
    training each stand for three, and EM counts them so."""
    ids = [make_id(birth=f"1980010{i}", seq="111") for i in range(1, 7)]
    rows = [record(f"r{i}", name=f"人{i}", id_number=ids[i], birth=f"1980-01-0{i + 1}", sex="1",
                   phone="13800138000") for i in range(6)]
    rows.append(record("r9", name="人0", id_number=None, birth="1980-01-01", sex="1", phone="13800138000"))
    cfg = _config(settings={"skipped_pairs_sample_per": 1, "skipped_pairs_sample_max": 3})
    con, rep, _ = _block(cfg, rows)
    phone = rep.rule("phone")
    assert phone.pairs == 6  # r9 (no ID) with each of the six
    n_skipped = con.execute("SELECT count(*) FROM match_pairs_by_rule WHERE skipped").fetchall()[0][0]
    assert phone.skipped_sample == 3 and phone.skipped_sampled == n_skipped < 15  # 15 = six anchors in pairs
    stands = con.execute("SELECT DISTINCT stands_for FROM match_skipped_pairs").fetchall()
    assert stands in ([], [(3,)])


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_statements_are_deterministic(dialect):
    from shiyou.matching import all_statements

    assert [s.sql for s in all_statements(CFG, dialect=dialect)] == [s.sql for s in all_statements(CFG, dialect=dialect)]


def test_why_id_one_edit_only_expands_failing_or_computed_checks():
    """The rule's premise: GB 11643's check (ISO 7064 MOD 11-2) catches every single wrong
    character and every swap of two adjacent different digits of the body, so of two IDs one
    typing error apart, one fails its check (or had its check computed by us)."""
    import random

    from shiyou.standard.id_number import check_char

    rng = random.Random(7)
    for _ in range(300):
        body = "440106" + f"{rng.randint(1930, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
               + f"{rng.randint(0, 999):03d}"
        valid = body + check_char(body)
        for p in range(18):
            for c in "0123456789X":
                if c != valid[p] and (c != "X" or p == 17):
                    typo = valid[:p] + c + valid[p + 1:]
                    assert check_char(typo[:17]) != typo[17], (valid, typo)
        for p in range(16):
            if valid[p] != valid[p + 1]:
                swapped = valid[:p] + valid[p + 1] + valid[p] + valid[p + 2:]
                assert check_char(swapped[:17]) != swapped[17], (valid, swapped)


def test_a_path_hop_never_joins_three_relations_around_its_inequality():
    """Each hop's "not the start record" inequality sits on a join of exactly two relations with
    equal keys. With the start, its keys and the targets in one three-way join, a wrong
    cardinality estimate (a second nightly sync at 100k residents) once made DuckDB pair every
    target with every start on the inequality alone: a 478M-row nested loop, 130 s instead of
    0.03 s."""
    import sqlglot
    from sqlglot import exp

    cfg = load_matching_config()
    paths = [r for r in cfg.blocking if r.shape == "path"]
    assert paths
    for rule in paths:
        tree = sqlglot.parse_one(blocking.rule_sql(cfg, rule), read="duckdb")
        hops = [s for s in tree.find_all(exp.Select) if s.args.get("where") and s.args["where"].find(exp.NEQ)]
        assert len(hops) == len(rule.path), rule.name
        for select in hops:
            joins = select.args.get("joins") or []
            assert len(joins) == 1 and joins[0].args.get("on") is not None and \
                joins[0].args["on"].find(exp.EQ) is not None, (rule.name, select.sql()[:200])
