"""Phone normalisation: mobile vs landline, +86, separators; SQL and scalar agree."""

import pytest

from shiyou.standard import phones
from tests.conftest import eval_sql

CASES = [
    ("13800138000", "13800138000", "mobile"),
    ("+86 138-0013-8000", "13800138000", "mobile"),
    ("0086 13800138000", "13800138000", "mobile"),
    ("138 0013 8000", "13800138000", "mobile"),
    ("１３８００１３８０００", "13800138000", "mobile"),
    ("020-87654321", "02087654321", "landline"),
    ("(020) 8765 4321", "02087654321", "landline"),
    ("0755-2345678", "07552345678", "landline"),
    ("87654321", "02087654321", "landline"),    # local number: the district's area code
    ("+86 20 8765 4321", "02087654321", "landline"),  # international form drops the trunk 0
    ("0086-755-2345678", "07552345678", "landline"),
    ("12345", None, None),
    ("10086", None, None),
    ("", None, None),
]


@pytest.mark.parametrize("raw,phone,kind", CASES)
def test_scalar(raw, phone, kind):
    assert phones.normalise_phone(raw) == (phone, kind)


def test_sql_agrees(duck):
    raws = [c[0] for c in CASES]
    digits = eval_sql(duck, raws, phones.sql_digits)
    cols = phones.sql_columns("v", "020")
    assert eval_sql(duck, digits, lambda v: cols["phone"]) == [c[1] for c in CASES]
    assert eval_sql(duck, digits, lambda v: cols["phone_type"]) == [c[2] for c in CASES]


def test_area_code_is_validated():
    with pytest.raises(ValueError):
        phones.sql_columns("v", "020'; DROP TABLE x; --")
