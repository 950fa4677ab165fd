"""Masking of personal data for everything outside base tables: logs, reports, metadata, views.

IDs keep the division (6) and the last 4 characters: 440106********123X.
Phones keep the first 3 and last 4 digits; names keep the surname (first
character); free text in views loses every digit and all but the first Han
character of each run; messages lose every long digit run.
"""

from __future__ import annotations

import re

import duckdb


def mask_id(value: str | None) -> str | None:
    if not value:
        return value
    v = str(value)
    if len(v) <= 10:
        return v[:2] + "*" * max(len(v) - 2, 0)
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


def mask_phone(value: str | None) -> str | None:
    if not value:
        return value
    v = str(value)
    return v[:3] + "*" * max(len(v) - 7, 0) + v[-4:] if len(v) > 7 else "*" * len(v)


def mask_name(value: str | None) -> str | None:
    if not value:
        return value
    return value[0] + "*" * (len(value) - 1)


def mask_free_text(value: str | None) -> str | None:
    """Free text shown to people (addresses): every digit run a star, every Han run its first
    character and two stars — the Python twin of sql_mask_text."""
    if not value:
        return value
    digits = re.sub(r"[0-9０-９][0-9０-９ Xx+-]*[0-9０-９Xx]|[0-9０-９]", "*", value)
    return re.sub(r"([\u4e00-\u9fff])[\u4e00-\u9fff]+", r"\1**", digits)


#: A run of 6 or more digits, with the spaces and dashes people type inside IDs and phones.
_DIGIT_RUN = re.compile(r"[0-9０-９](?:[0-9０-９ Xx+-]{4,}[0-9０-９Xx])")
#: The date a delivery's file name ends with (minzheng_20261120.csv): it tells the operator which
#: file, and is no one's number.
_FILE_DATE = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
_FILE_SUFFIX = re.compile(r"\.(?:csv|txt|tsv|xlsx?)\b")


def mask_text(value: str | None) -> str | None:
    """Messages that might quote delivered text: mask every run of 6 or more digits (_DIGIT_RUN)
    except the date ending a delivery's file name (_FILE_DATE)."""
    if not value:
        return value

    def mask(m: re.Match) -> str:
        if _FILE_DATE.fullmatch(m.group(0)) and _FILE_SUFFIX.match(value, m.end()):
            return m.group(0)
        return _mask_digits(re.sub(r"[ +-]", "", m.group(0)))

    return _DIGIT_RUN.sub(mask, value)


def _mask_digits(d: str) -> str:
    if len(d) >= 15:
        return mask_id(d)
    if len(d) >= 8:
        return mask_phone(d)  # keeps 3 + 4 of 11: the middle of a phone is the personal part
    return d[:2] + "*" * (len(d) - 2)


# SQL twins of the functions above (for views), kept next to them on purpose.
def sql_mask_id(col: str) -> str:
    return (f"CASE WHEN {col} IS NULL OR {col} = '' THEN {col} WHEN length({col}) <= 10 "
            f"THEN left({col}, 2) || repeat('*', greatest(length({col}) - 2, 0)) "
            f"ELSE left({col}, 6) || repeat('*', length({col}) - 10) || right({col}, 4) END")


def sql_mask_phone(col: str) -> str:
    return (f"CASE WHEN {col} IS NULL OR {col} = '' THEN {col} WHEN length({col}) > 7 "
            f"THEN left({col}, 3) || repeat('*', length({col}) - 7) || right({col}, 4) "
            f"ELSE repeat('*', length({col})) END")


def sql_mask_name(col: str) -> str:
    return f"CASE WHEN {col} IS NULL OR {col} = '' THEN {col} ELSE left({col}, 1) || repeat('*', length({col}) - 1) END"


def sql_mask_text(col: str) -> str:
    """Free text: every digit (with the separators people type between them) and every Han
    character after the first of a run. Names and addresses become 张**, 天****; IDs and
    phones become stars whatever their spacing."""
    digits = f"regexp_replace({col}, '[0-9０-９][0-9０-９ Xx+-]*[0-9０-９Xx]|[0-9０-９]', '*', 'g')"
    return f"regexp_replace({digits}, '(\\p{{Han}})\\p{{Han}}+', '\\1**', 'g')"


def create_masked_views(con: duckdb.DuckDBPyConnection) -> None:
    """Views analysts get by default: no full ID, phone, name or address anywhere in them.

    Columns from which an ID could be rebuilt (division, birth date, ID birth date) are
    coarsened to the year; the address is cut to district, street and road.
    """
    con.execute(f"""CREATE OR REPLACE VIEW source_records_masked AS
        SELECT source, record_id, record_uid, snapshot_date, file, line_no,
               {sql_mask_name('name')} AS name, name_is_minority,
               id_type, {sql_mask_id('id_number')} AS id_number, id_status, id_valid,
               year(id_birth_date) AS id_birth_year, id_sex, sex,
               year(coalesce(birth_date, CAST(birth_year_month || '-01' AS DATE))) AS birth_year,
               birth_date_precision, ethnic_group, marital_status, education,
               {sql_mask_phone('phone')} AS phone, phone_type,
               address_province, address_city, address_district, address_street, address_road,
               household_id IS NOT NULL AS has_household, relation_to_head, population_type, status,
               status_date, registration_cancelled, registered_on, quality_flags
        FROM source_records""")
    con.execute(f"""CREATE OR REPLACE VIEW quarantine_masked AS
        SELECT source, snapshot_date, file, line_no, {sql_mask_id('record_id')} AS record_id, rule, rules,
               message, {sql_mask_text('raw')} AS raw
        FROM quarantine""")
