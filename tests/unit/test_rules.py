"""Every rule of the standard, one failing and one passing example, through the pandera model.

A clean record raises nothing; each case changes one or two fields and must
raise exactly the rule it names (and nothing else), at the severity rules.yaml
gives it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from shiyou.ingest.validate import validate_records
from shiyou.standard.rules import rule

CLEAN = {
    "source": "police", "record_id": "R1", "line_no": 2, "name": "张伟", "name_key": "张伟",
    "id_type": "resident_id", "id_type_raw": "111", "id_number": "440106198801010017", "id_status": "valid",
    "id_birth_date": dt.date(1988, 1, 1), "id_sex": "1", "sex": "1", "sex_raw": "1",
    "birth_date": dt.date(1988, 1, 1), "birth_date_raw": "19880101", "birth_year_month": "1988-01",
    "ethnic_group": "01", "ethnic_group_raw": "01", "marital_status": None, "marital_status_raw": None,
    "education": None, "education_raw": None, "relation_to_head": "02", "relation_to_head_raw": "02",
    "population_type": "registered", "population_type_raw": "1", "status": "active", "status_raw": None,
    "phone": "13800138000", "phone_raw": "138-0013-8000", "snapshot_date": dt.date(2026, 11, 20),
    "registered_on": dt.date(2020, 1, 1), "registered_on_raw": "20200101", "status_date": None,
    "status_date_raw": None, "__key_rank": 1, "__id_repeat": 1, "__id_birth_ym": "1988-01",
    "__division_known": True,
}
TYPES = {
    "line_no": pa.int64(), "__key_rank": pa.int64(), "__id_repeat": pa.int64(), "__division_known": pa.bool_(),
    **{k: pa.date32() for k in ("id_birth_date", "birth_date", "snapshot_date", "registered_on", "status_date")},
}


def frame(*rows: dict) -> pd.DataFrame:
    cols = {k: pd.array([r[k] for r in rows], dtype=pd.ArrowDtype(TYPES.get(k, pa.string()))) for k in CLEAN}
    return pd.DataFrame(cols)


def raised(**changes) -> set[str]:
    v = validate_records(frame({**CLEAN, **changes}))
    return set(v.errors.to_pylist()[0]) | set(v.warnings.to_pylist()[0])


CASES = [
    ("record_key_missing", {"record_id": None}),
    ("record_key_duplicate", {"__key_rank": 2}),
    ("name_missing", {"name": None, "name_key": None}),
    ("code_not_standard", {"sex": "7"}),
    ("format_not_standard", {"phone": "12345"}),
    ("name_has_digits", {"name": "张伟2"}),
    ("id_missing", {"id_number": None, "id_status": "missing", "id_birth_date": None, "id_sex": None,
                    "__id_birth_ym": None, "__division_known": None}),
    ("id_malformed", {"id_number": None, "id_status": "malformed", "id_birth_date": None, "id_sex": None,
                      "__id_birth_ym": None, "__division_known": None}),
    ("id_scientific_notation", {"id_number": None, "id_status": "scientific_notation", "id_birth_date": None,
                                "id_sex": None, "__id_birth_ym": None, "__division_known": None}),
    ("id_bad_check", {"id_status": "bad_check"}),
    ("id_legacy_15", {"id_status": "upgraded_15"}),
    ("id_check_completed", {"id_status": "check_completed"}),
    ("id_birth_date_impossible", {"id_birth_date": None, "__id_birth_ym": None, "birth_date": None,
                                  "birth_date_raw": None, "birth_year_month": None}),
    ("id_division_unknown", {"__division_known": False}),
    ("id_repeated_in_source", {"__id_repeat": 2}),
    ("birth_date_unparseable", {"birth_date": None, "birth_year_month": None, "birth_date_raw": "19880230"}),
    ("birth_date_out_of_range", {"birth_date": dt.date(1890, 1, 1), "birth_year_month": "1890-01",
                                 "birth_date_raw": "18900101", "id_birth_date": dt.date(1890, 1, 1),
                                 "__id_birth_ym": "1890-01"}),
    ("birth_date_id_mismatch", {"birth_date": dt.date(1988, 1, 2)}),
    ("sex_id_mismatch", {"sex": "2", "sex_raw": "2"}),
    ("sex_unstated", {"sex": "9", "sex_raw": "9"}),
    ("code_unknown_sex", {"sex": None, "sex_raw": "M"}),
    ("code_unknown_ethnic_group", {"ethnic_group": None, "ethnic_group_raw": "火星族"}),
    ("code_unknown_marital_status", {"marital_status_raw": "同居"}),
    ("code_unknown_education", {"education_raw": "幼儿园"}),
    ("code_unknown_relation_to_head", {"relation_to_head": None, "relation_to_head_raw": "X9"}),
    ("code_unknown_id_type", {"id_type": None, "id_type_raw": "999"}),
    ("code_unknown_population_type", {"population_type": None, "population_type_raw": "7"}),
    ("code_unknown_status", {"status": None, "status_raw": "失联"}),
    ("date_unparseable", {"registered_on": None, "registered_on_raw": "2020-13-01"}),
    ("phone_unrecognised", {"phone": None, "phone_raw": "12345"}),
]


def test_clean_record_raises_nothing():
    assert raised() == set()


@pytest.mark.parametrize("rule_id,changes", CASES, ids=[c[0] for c in CASES])
def test_each_rule_fires_alone(rule_id, changes):
    assert raised(**changes) == {rule_id}


def test_every_model_rule_has_a_case():
    from shiyou.ingest.validate import check_rule_ids

    assert check_rule_ids() == {c[0] for c in CASES}


def test_severity_routes_errors_and_warnings():
    v = validate_records(frame(CLEAN, {**CLEAN, "name": None, "name_key": None}, {**CLEAN, "id_status": "bad_check"}))
    assert v.errors.to_pylist() == [[], ["name_missing"], []]
    assert v.warnings.to_pylist() == [[], [], ["id_bad_check"]]
    assert rule("name_missing").severity == "error" and rule("id_bad_check").severity == "warning"
    assert v.counts["name_missing"] == 1 and v.counts["id_bad_check"] == 1


def test_month_precision_birth_agrees_with_id_month():
    month_only = {"birth_date": None, "birth_date_raw": "198801", "birth_year_month": "1988-01"}
    assert raised(**month_only) == set()
    assert raised(**{**month_only, "birth_year_month": "1988-02", "birth_date_raw": "198802"}) == {"birth_date_id_mismatch"}
