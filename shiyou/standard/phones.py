"""Phone numbers: one comparable form, mobile or landline, as SQL over whole columns.

`+86`/`0086`, spaces, dashes and brackets go; a local landline without area code
gets the district's (schemas/district.yaml). Anything else is not a phone and is
kept only in `phone_raw`. Phones are not personal keys (households share them).
"""

from __future__ import annotations

import re

from shiyou.standard.id_number import FULLWIDTH, HALFWIDTH, sql_halfwidth

MOBILE = "1[3-9][0-9]{9}"
LANDLINE = "0[1-9][0-9]{1,2}[2-9][0-9]{6,7}"
LOCAL = "[2-9][0-9]{6,7}"


def sql_digits(col: str) -> str:
    """Digits only, with the +86 / 0086 country prefix removed."""
    d = f"regexp_replace({sql_halfwidth(col, FULLWIDTH[:10], HALFWIDTH[:10])}, '[^0-9]', '', 'g')"
    mobile = f"regexp_replace({d}, '^(0086|86)(1[3-9][0-9]{{9}})$', '\\2')"
    # +86 20 8765 4321: the trunk 0 of the area code is dropped after +86 and comes back here
    return f"regexp_replace({mobile}, '^(0086|86)([1-9][0-9]{{8,10}})$', '0\\2')"


def sql_columns(digits: str, area_code: str) -> dict[str, str]:
    """`digits` names a column holding `sql_digits(raw)`; area_code is config (digits only)."""
    if not re.fullmatch(r"0[0-9]{2,3}", area_code):
        raise ValueError(f"phone area code must look like 020, got {area_code!r}")
    phone = f"""CASE
        WHEN regexp_full_match({digits}, '{MOBILE}') THEN {digits}
        WHEN regexp_full_match({digits}, '{LANDLINE}') THEN {digits}
        WHEN regexp_full_match({digits}, '{LOCAL}') THEN '{area_code}' || {digits}
        ELSE NULL END"""
    kind = f"""CASE
        WHEN regexp_full_match({digits}, '{MOBILE}') THEN 'mobile'
        WHEN regexp_full_match({digits}, '{LANDLINE}') OR regexp_full_match({digits}, '{LOCAL}') THEN 'landline'
        ELSE NULL END"""
    return {"phone": phone, "phone_type": kind}


def normalise_phone(raw: str | None, area_code: str = "020") -> tuple[str | None, str | None]:
    """Scalar reference of the SQL: (phone, phone_type)."""
    if raw is None:
        return None, None
    d = re.sub(r"[^0-9]", "", raw.translate(str.maketrans(FULLWIDTH[:10], HALFWIDTH[:10])))
    d = re.sub(r"^(0086|86)(1[3-9][0-9]{9})$", r"\2", d)
    d = re.sub(r"^(0086|86)([1-9][0-9]{8,10})$", r"0\2", d)
    if re.fullmatch(MOBILE, d):
        return d, "mobile"
    if re.fullmatch(LANDLINE, d):
        return d, "landline"
    if re.fullmatch(LOCAL, d):
        return area_code + d, "landline"
    return None, None
