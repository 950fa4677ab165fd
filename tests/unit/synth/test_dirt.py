"""Dirt: every kind occurs, each looks like what it claims, and multiplier 0 means clean."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from shiyou.synth import generate_district, write_district
from shiyou.synth.rates import DIRT_RATES

from .conftest import read_answer
from .extracts import FILES, ID_FIELD, read_rows
from .test_idnumbers import reference_valid

PER_RECORD_KINDS = ["id_of_household_member", "former_name_used"]


@pytest.fixture(scope="module")
def dirty_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("dirty")
    write_district(generate_district(2000, 5, "2026-11-20", dirt_multiplier=4.0), out)
    return out


def _values(root):
    """(source, record id, field) -> value as delivered."""
    out = {}
    for source in FILES:
        header, rows = read_rows(root, source)
        for _, fields in rows:
            for col, value in zip(header, fields):
                key = str(fields[0])
                if source == "family_planning":
                    key += "-M" if col.startswith("男方") else "-F"
                out[(source, key, col)] = value
    return out


def test_sample_has_most_kinds(dirt):
    kinds = Counter(d["kind"] for d in dirt)
    assert len(set(DIRT_RATES) - set(kinds)) <= 4, set(DIRT_RATES) - set(kinds)


def test_every_kind_occurs_and_looks_right(dirty_dir):
    dirt = read_answer(dirty_dir / "truth" / "dirt.csv")
    kinds = Counter(d["kind"] for d in dirt)
    assert set(DIRT_RATES) | set(PER_RECORD_KINDS) <= set(kinds)
    values = _values(dirty_dir)
    persons = {p["person_id"]: p for p in read_answer(dirty_dir / "truth" / "persons.csv")}
    truth = {(t["source"], t["record_id"]): t["person_id"]
             for t in read_answer(dirty_dir / "truth" / "truth.csv")}
    checks = {
        "id_fullwidth": lambda v, p: bool(re.search("[０-９]", v)),
        "id_spaces": lambda v, p: " " in v,
        "id_lowercase_x": lambda v, p: v.endswith("x"),
        "id_legacy_15": lambda v, p: v == p["id_number"][:6] + p["id_number"][8:17],
        "id_check_dropped": lambda v, p: v == p["id_number"][:17],
        "id_apostrophe": lambda v, p: v == "'" + p["id_number"],
        "id_sci_notation": lambda v, p: isinstance(v, float) or re.fullmatch(r"\d\.\d{5}E\+17", v),
        "id_excel_precision": lambda v, p: v.endswith("000") and v[:15] == p["id_number"][:15],
        "id_mistyped_digit": lambda v, p: len(v) == 18 and not reference_valid(v)
        and sum(a != b for a, b in zip(v, p["id_number"])) == 1,
        "id_swapped_digits": lambda v, p: len(v) == 18 and not reference_valid(v)
        and sorted(v) == sorted(p["id_number"]),
        "id_blank": lambda v, p: v == "",
        "name_traditional": lambda v, p: v != p["name"],
        "name_stray_space": lambda v, p: v.replace(" ", "").replace("\u3000", "") == p["name"],
        "phone_plus86": lambda v, p: str(v).startswith("+86"),
        "phone_blank": lambda v, p: v == "",
        "phone_as_number": lambda v, p: isinstance(v, (int, float)),
        "sex_unknown_code": lambda v, p: v in ("0", "9"),
        "date_impossible": lambda v, p: bool(re.search(r"(02-?3[01]|0[2469]-?31|11-?31|/2/3[01]|"
                                                       r"/[469]/31|/11/31|0229|02-29|/2/29|00$|13$)", v)),
    }
    for d in dirt:
        check = checks.get(d["kind"])
        if check is None:
            continue
        value = values[(d["source"], d["record_id"], d["field"])]
        person = persons[truth[(d["source"], d["record_id"])]]
        if d["field"].startswith("男方") or d["kind"].startswith("phone") or \
                d["kind"].startswith("date") or d["kind"].startswith("sex"):
            assert check(value, person), d
        else:
            assert check(value, person), (d, value, person["id_number"], person["name"])


def test_multiplier_zero_is_clean(tmp_path):
    write_district(generate_district(1500, 11, "2026-11-20", dirt_multiplier=0.0), tmp_path)
    assert read_answer(tmp_path / "truth" / "broken_rows.csv") == []
    leftover = read_answer(tmp_path / "truth" / "dirt.csv")
    # Hard cases are facts, not dirt: they stay. A duplicate social-security enrolment is
    # made with the person's old 15-digit number, so that one legacy number stays too.
    assert {d["kind"] for d in leftover} <= set(PER_RECORD_KINDS) | {"id_legacy_15"}
    assert all(d["source"] == "social_security" for d in leftover if d["kind"] == "id_legacy_15")
    header, rows = read_rows(tmp_path, "police")
    assert all(len(f) == len(header) for _, f in rows)
    for source in FILES:
        header, rows = read_rows(tmp_path, source)
        col = header.index(ID_FIELD[source])
        ids = [str(f[col]) for _, f in rows]
        assert all(reference_valid(i) or not re.fullmatch(r"\d{17}[\dX]", i) for i in ids)
        assert all(i == "" or reference_valid(i) or source in ("police", "social_security")
                   for i in ids), source
