"""Every hard case is present in the 2,000 sample and looks like what it claims to be."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from shiyou.synth.district import HARD_CASE_FLAGS

from .extracts import FILES, ID_FIELD, NAME_FIELD, as_dict, read_rows
from .test_idnumbers import reference_valid


def flagged(persons, flag):
    return [p for p in persons if flag in p["flags"].split(";")]


@pytest.mark.parametrize("flag", HARD_CASE_FLAGS)
def test_each_hard_case_occurs(persons, flag):
    assert flagged(persons, flag), flag


def test_twins(persons):
    by_hh = defaultdict(list)
    for p in flagged(persons, "twin"):
        by_hh[p["household_id"]].append(p)
    assert by_hh
    for pair in by_hh.values():
        assert len(pair) == 2
        a, b = pair
        assert a["birth_date"] == b["birth_date"] and a["address"] == b["address"]
        assert a["name"][0] == b["name"][0]  # same surname
        assert reference_valid(a["id_number"]) and reference_valid(b["id_number"])
        assert a["id_number"][:14] == b["id_number"][:14] and a["id_number"] != b["id_number"]


def test_same_name_neighbours(persons):
    groups = defaultdict(list)
    for p in flagged(persons, "same_name_neighbour"):
        groups[(p["name"], p["birth_date"])].append(p)
    assert groups
    for group in groups.values():
        assert len(group) == 2
        a, b = group
        assert a["household_id"] != b["household_id"] and a["id_number"] != b["id_number"]
        estate = [re.sub(r"\d+栋.*$", "", p["address"]) for p in group]
        assert estate[0] == estate[1]


def test_shared_id_numbers(persons):
    shared = flagged(persons, "shared_id_number")
    numbers = defaultdict(list)
    for p in shared:
        numbers[p["id_number"]].append(p["person_id"])
    assert numbers and all(len(v) == 2 for v in numbers.values())


def _records(truth, source):
    out = defaultdict(list)
    for t in truth:
        if t["source"] == source:
            out[t["person_id"]].append(t["record_id"])
    return out


def test_duplicate_registrations(persons, truth):
    for flag, source in (("ss_duplicate", "social_security"), ("police_duplicate", "police")):
        recs = _records(truth, source)
        for p in flagged(persons, flag):
            assert len(recs[p["person_id"]]) >= 2, (flag, p["person_id"])


def _rows_by_record(sample_dir):
    out = {}
    for source in FILES:
        header, rows = read_rows(sample_dir, source)
        for _, fields in rows:
            if len(fields) >= len(header):
                row = as_dict(header, fields)
                out[(source, str(fields[0]) + ("-F" if source == "family_planning" else ""))] = row
    return out


def test_record_level_hard_cases(sample_dir, persons, truth):
    rows = _rows_by_record(sample_dir)
    by_person = defaultdict(list)
    for t in truth:
        by_person[t["person_id"]].append((t["source"], t["record_id"]))
    household_ids = defaultdict(set)
    for p in persons:
        household_ids[p["household_id"]].add(p["id_number"])

    for p in flagged(persons, "former_name_used"):
        names = [rows[r][NAME_FIELD[r[0]]] for r in by_person[p["person_id"]] if r in rows]
        assert p["former_name"] and p["former_name"] in names

    for p in flagged(persons, "id_of_household_member"):
        others = household_ids[p["household_id"]] - {p["id_number"]}
        ids = [rows[r][ID_FIELD[r[0]]] for r in by_person[p["person_id"]] if r in rows]
        assert any(i in others for i in ids), p["person_id"]

    for p in flagged(persons, "deceased_still_paid"):
        assert p["status"] == "deceased"
        states = [rows[r].get("人员状态") or rows[r].get("参保状态")
                  for r in by_person[p["person_id"]] if r in rows and r[0] != "police"]
        assert "正常" in states or "待遇享受" in states


def test_shared_phones(sample_dir, persons):
    header, rows = read_rows(sample_dir, "police")
    phones = defaultdict(set)
    for _, fields in rows:
        if len(fields) == len(header):
            r = as_dict(header, fields)
            if r["LXDH"]:
                phones[re.sub(r"\D", "", r["LXDH"])[-8:]].add(r["HH"])
    # Many people share one number; within a household that is the normal case here.
    shared = [p for p in flagged(persons, "shared_phone") if not p["mobile"]]
    assert shared
    assert any(len(v) == 1 for v in phones.values())
    reassigned = flagged(persons, "reassigned_phone")
    assert len({p["household_id"] for p in reassigned}) == len(reassigned)
