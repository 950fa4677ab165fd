"""GB 11643 resident ID numbers: clean, repair what can be repaired, and say what was done.

Two faces of the same rules: SQL expressions (what the pipeline runs, vectorised
in DuckDB over millions of rows) and a scalar `normalise_id` (for explanations
and for tests that pin the SQL to the standard's worked examples).

Repairs: full-width digits, spaces, apostrophes, lowercase x; 15-digit legacy
numbers get `19` and a check character (GB 11643-1989 → 1999); 17 digits get
their dropped check character. Never repaired: Excel scientific notation (the
digits are gone) and a wrong check character (which digit is wrong is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
FULLWIDTH = "０１２３４５６７８９ｘＸ"
HALFWIDTH = "0123456789XX"
# Statuses whose id_number has the 18-character layout (birth date and sex can be read off it).
SHAPED_STATUSES = ("valid", "bad_check", "upgraded_15", "check_completed")
# Residence permits for HK/Macau/Taiwan residents use the ID layout with these prefixes.
PERMIT_PREFIXES = ("810000", "820000", "830000")


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


@dataclass(frozen=True)
class IdResult:
    id_number: str | None
    status: str  # a code of schemas/codes/id_status.csv


def _clean(raw: str) -> str:
    s = raw.translate(str.maketrans(FULLWIDTH, HALFWIDTH))
    for ch in (" ", "\u3000", "\t", "'", "‘", "’", "`", "-"):
        s = s.replace(ch, "")
    return s.upper()


def normalise_id(raw: str | None) -> IdResult:
    """The scalar reference of `sql_normalised` / `sql_status` (same rules, one value)."""
    if raw is None or not raw.strip():
        return IdResult(None, "missing")
    s = _clean(raw)
    import re

    if re.fullmatch(r"[0-9]+(\.[0-9]+)?E\+?[0-9]+", s):
        return IdResult(None, "scientific_notation")
    if re.fullmatch(r"[0-9]{17}[0-9X]", s):
        return IdResult(s, "valid" if check_char(s[:17]) == s[17] else "bad_check")
    if re.fullmatch(r"[0-9]{15}", s):
        first17 = s[:6] + "19" + s[6:]
        return IdResult(first17 + check_char(first17), "upgraded_15")
    if re.fullmatch(r"[0-9]{17}", s):
        return IdResult(s + check_char(s), "check_completed")
    return IdResult(None, "malformed")


# --------------------------------------------------------------------------- SQL


def sql_halfwidth(col: str, fullwidth: str = FULLWIDTH, halfwidth: str = HALFWIDTH) -> str:
    """`translate` to half-width, skipped for ASCII-only values (as many bytes as characters:
    nothing to translate), which are nearly all of them; translate() is slow per value."""
    return (f"CASE WHEN strlen({col}) = length({col}) THEN {col} "
            f"ELSE translate({col}, '{fullwidth}', '{halfwidth}') END")


def sql_cleaned(col: str) -> str:
    """Upper-case, half-width, without spaces, apostrophes or dashes."""
    return (
        f"upper(regexp_replace({sql_halfwidth(col)}, "
        r"'[\s　''‘’`-]+', '', 'g'))"
    )


def _sql_check_char(first17: str, as_integer: str | None = None) -> str:
    """The check character of the 17 digits `first17` begins with. Their digits are taken
    by arithmetic on one integer (cheaper than 17 substrings): `as_integer` names a column
    already holding that integer, else it is cast here (inside a CASE branch DuckDB then
    casts once per use)."""
    n = as_integer or f"CAST(substr({first17}, 1, 17) AS BIGINT)"
    terms = " + ".join(f"(({n} // {10 ** (16 - i)}) % 10) * {w}" for i, w in enumerate(WEIGHTS))
    return f"substr('{CHECK_CHARS}', CAST(({terms}) % 11 AS INTEGER) + 1, 1)"


def sql_first17(cleaned: str) -> str:
    """The first 17 characters as an integer where they are digits (for `sql_columns`)."""
    return f"TRY_CAST(substr({cleaned}, 1, 17) AS BIGINT)"


def sql_columns(cleaned: str, first17: str | None = None) -> dict[str, str]:
    """SQL expressions over an already cleaned column: normalised id and its status.

    `cleaned` must name a column holding `sql_cleaned(raw)`; it is read several times.
    `first17`, if given, names a column holding `sql_first17(cleaned)`.
    """
    c = cleaned
    is18 = f"regexp_full_match({c}, '[0-9]{{17}}[0-9X]')"
    is15 = f"regexp_full_match({c}, '[0-9]{{15}}')"
    is17 = f"regexp_full_match({c}, '[0-9]{{17}}')"
    sci = f"regexp_full_match({c}, '[0-9]+(\\.[0-9]+)?E\\+?[0-9]+')"
    up15 = f"(substr({c}, 1, 6) || '19' || substr({c}, 7, 9))"
    normalised = f"""CASE
        WHEN {c} IS NULL OR {c} = '' THEN NULL
        WHEN {is18} THEN {c}
        WHEN {is15} THEN {up15} || {_sql_check_char(up15)}
        WHEN {is17} THEN {c} || {_sql_check_char(c, first17)}
        ELSE NULL END"""
    status = f"""CASE
        WHEN {c} IS NULL OR {c} = '' THEN 'missing'
        WHEN {sci} THEN 'scientific_notation'
        WHEN {is18} THEN CASE WHEN {_sql_check_char(c, first17)} = substr({c}, 18, 1) THEN 'valid' ELSE 'bad_check' END
        WHEN {is15} THEN 'upgraded_15'
        WHEN {is17} THEN 'check_completed'
        ELSE 'malformed' END"""
    return {"id_number": normalised, "id_status": status}


def sql_derived(id_col: str) -> dict[str, str]:
    from shiyou.standard.dates import plausible

    """Facts read off an 18-character ID: division, birth date, sex."""
    return {
        "id_division": f"substr({id_col}, 1, 6)",
        "id_birth_date": plausible(f"CAST(try_strptime(substr({id_col}, 7, 8), '%Y%m%d') AS DATE)"),
        "id_sex": f"CASE WHEN {id_col} IS NULL THEN NULL "
        f"WHEN CAST(substr({id_col}, 17, 1) AS INTEGER) % 2 = 1 THEN '1' ELSE '2' END",
    }
