"""matching.yaml loads into typed objects; a broken file is refused with every problem listed."""

from __future__ import annotations

import copy

import pytest
import yaml

from shiyou.matching.model import MATCHING_YAML, MatchingConfigError, load_matching_config


def shipped() -> dict:
    return yaml.safe_load(MATCHING_YAML.read_text(encoding="utf-8"))


def test_the_shipped_config_loads_and_names_what_the_issue_asks_for():
    cfg = load_matching_config()
    rules = {r.name: r for r in cfg.blocking}
    assert {"id_exact", "id_one_edit", "name_birth_date", "pinyin_birth_month", "phone", "road_number_name",
            "household", "former_name", "partner_household"} <= set(rules)
    assert {r.scope for r in cfg.blocking} == {"local", "global"}
    assert rules["id_exact"].scope == "global" and rules["road_number_name"].scope == "local"
    assert {c.name for c in cfg.comparisons} >= {"id", "name", "birth_date", "sex", "phone", "address", "household"}
    for comp in cfg.comparisons:
        assert comp.levels[0].is_null and comp.levels[-1].is_else


def test_gamma_numbering_null_is_minus_one_then_yaml_order():
    cfg = load_matching_config()
    labels = cfg.comparison("sex").level_labels()
    assert labels == {-1: "missing", 0: "same", 1: "different"}
    assert cfg.comparison("id").gamma_of("exact") == 0


def test_every_problem_reported_at_once():
    data = shipped()
    data["blocking"][0]["keys"] = ["l.id_number"]  # keys are per record: no l./r.
    data["blocking"][1]["left"]["where"] = "no_such_column = 1"
    data["blocking"][2]["name"] = data["blocking"][3]["name"]  # duplicate rule name
    name = next(c for c in data["comparisons"] if c["name"] == "name")
    name["levels"] = name["levels"][1:]  # null level gone
    name["levels"].insert(1, {"label": "bytes", "sql": "levenshtein(l.name_key, r.name_key) <= 1"})
    sex = next(c for c in data["comparisons"] if c["name"] == "sex")
    sex["levels"][1]["sql"] = "sex = r.sex"  # unqualified column in a level
    sex["levels"].append({"label": "extra", "sql": "l.sex IS NULL"})  # else no longer last
    data["lookalike_characters"].append("己土")  # 己 and 土 already in groups
    with pytest.raises(MatchingConfigError) as e:
        load_matching_config(data=data)
    msg = str(e.value)
    for needle in ["must not be qualified", "unknown column 'no_such_column'", "rule name used twice",
                   "exactly one null level", "UTF-8 bytes", "must be qualified as l.sex",
                   "exactly one else level", "'己' is in 2 groups", "'土' is in 2 groups"]:
        assert needle in msg, needle
    assert "9 problem(s)" in msg or int(msg.split(" problem(s)")[0].rsplit(" ", 1)[-1]) >= 9


def test_shape_errors_are_reported_by_field():
    data = shipped()
    data["blocking"][0]["left"] = {"keys": ["id_number"]}  # keys and left: two shapes at once
    data["comparisons"][0]["levels"][1].pop("sql")
    data["settings"]["default_max_block_size"] = 1
    with pytest.raises(MatchingConfigError) as e:
        load_matching_config(data=data)
    msg = str(e.value)
    assert "3 problem(s)" in msg
    assert "blocking.0" in msg and "comparisons.0.levels.1" in msg and "settings.default_max_block_size" in msg


def test_pair_where_is_checked_like_a_level():
    data = shipped()
    rules = {r["name"]: r for r in data["blocking"]}
    rules["phone"]["pair_where"] = "id_anchor IS NULL OR r.no_such_column = 1"  # unqualified, unknown
    with pytest.raises(MatchingConfigError) as e:
        load_matching_config(data=data)
    msg = str(e.value)
    assert "blocking.phone.pair_where: column 'id_anchor' must be qualified" in msg
    assert "blocking.phone.pair_where: unknown column 'no_such_column'" in msg
    data = shipped()
    rules = {r["name"]: r for r in data["blocking"]}
    rules["partner_household"]["pair_where"] = "l.sex = r.sex"  # not for a path
    rules["id_one_edit"]["pair_where"] = "l.sex = r.sex"  # not with an expanded side
    with pytest.raises(MatchingConfigError) as e:
        load_matching_config(data=data)
    msg = str(e.value)
    assert "`pair_where` is for rules with `keys` or `left` / `right`, not `path`" in msg
    assert "an expanded side's rule takes no `pair_where`" in msg


def test_base_columns_are_what_the_rules_read():
    cfg = load_matching_config()
    cols = set(cfg.base_columns())
    assert {"id_number", "name_key", "name_pinyin_fuzzy", "phone", "address_key", "household_id",
            "relation_to_head", "attributes", "line_no"} <= cols
    assert not cols & set(cfg.record_columns)  # derived columns are not read from the record
    assert "record_uid" not in cols
    # match_records keeps what pairs are compared on, not what only a derived column reads.
    carried = set(cfg.carried_columns())
    assert carried < cols and {"attributes", "line_no", "file"} & carried == set()
    assert {"id_number", "name_key", "phone", "household_id", "relation_to_head"} <= carried


def test_local_partition_must_be_a_column():
    data = copy.deepcopy(shipped())
    data["settings"]["local_partition"] = "county"
    with pytest.raises(MatchingConfigError, match="local_partition"):
        load_matching_config(data=data)
