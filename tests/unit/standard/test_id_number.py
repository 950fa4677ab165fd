"""GB 11643 ID numbers: the SQL the pipeline runs agrees with the scalar reference and the standard."""

import pytest

from shiyou.standard import id_number as idn
from tests.conftest import eval_sql

# (raw, normalised, status): the standard's worked example in every dirty form of the spec.
CASES = [
    ("11010519491231002X", "11010519491231002X", "valid"),
    ("11010519491231002x", "11010519491231002X", "valid"),             # lowercase x
    ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X", "valid"),  # full-width
    (" 110105 19491231 002X ", "11010519491231002X", "valid"),         # embedded spaces
    ("'11010519491231002X", "11010519491231002X", "valid"),            # Excel text marker
    ("110105491231002", "11010519491231002X", "upgraded_15"),          # GB 11643-1989 legacy
    ("11010519491231002", "11010519491231002X", "check_completed"),    # check character dropped
    ("4.40106E+17", None, "scientific_notation"),                       # digits lost: never repaired
    ("4.40106199001E17", None, "scientific_notation"),
    ("11010519491231003X", "11010519491231003X", "bad_check"),         # one mistyped digit
    ("11010519492131002X", "11010519492131002X", "bad_check"),         # two swapped digits
    ("1101051949123", None, "malformed"),
    ("abcdefghijklmnopqr", None, "malformed"),
    ("", None, "missing"),
    (None, None, "missing"),
]


@pytest.mark.parametrize("raw,expected,status", CASES)
def test_scalar_reference(raw, expected, status):
    r = idn.normalise_id(raw)
    assert (r.id_number, r.status) == (expected, status)


def test_sql_matches_reference(duck):
    raws = [c[0] for c in CASES]
    duck.execute("CREATE TEMP TABLE ids AS SELECT * FROM (VALUES " +
                 ", ".join("(?, ?)" for _ in raws) + ") t(i, raw)",
                 [x for i, r in enumerate(raws) for x in (i, r)])
    cols = idn.sql_columns("c")
    got = duck.execute(
        f"SELECT {cols['id_number']}, {cols['id_status']} FROM "
        f"(SELECT i, {idn.sql_cleaned('raw')} AS c FROM ids) ORDER BY i").fetchall()
    assert got == [(c[1], c[2]) for c in CASES]


def test_check_character_worked_example():
    assert idn.check_char("11010519491231002") == "X"
    assert idn.check_char("44010619900101123") == idn.normalise_id("44010619900101123").id_number[-1]


def test_derived_facts(duck):
    d = idn.sql_derived("v")
    ids = ["11010519491231002X", "44010619900230001X", "11010519491231001X"]
    assert eval_sql(duck, ids, lambda v: d["id_division"]) == ["110105", "440106", "110105"]
    born = eval_sql(duck, ids, lambda v: d["id_birth_date"])
    assert str(born[0]) == "1949-12-31" and born[1] is None  # 1990-02-30 does not exist
    assert eval_sql(duck, ids, lambda v: d["id_sex"]) == ["2", "1", "1"]  # odd 17th digit = male
