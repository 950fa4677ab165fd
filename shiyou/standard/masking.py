"""Masking of personal data for everything outside base tables: logs, reports, metadata, views.

IDs keep the division (6) and the last 4 characters: 440106********123X.
Phones keep the first 3 and last 4 digits; names keep the surname (first
character); free text has every run of 6+ digits masked.
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


def mask_text(value: str | None) -> str | None:
    """Free text (raw lines, addresses, messages): mask every run of 6 or more digits."""
    if not value:
        return value
    return re.sub(r"[0-9０-９Xx]{6,}", lambda m: mask_id(m.group(0)), value)


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
    return f"regexp_replace({col}, '[0-9０-９Xx]{{6,}}', '******', 'g')"


def create_masked_views(con: duckdb.DuckDBPyConnection) -> None:
    """Views analysts get by default: no full ID, phone, name or address anywhere in them."""
    con.execute(f"""CREATE OR REPLACE VIEW source_records_masked AS
        SELECT * EXCLUDE (name, name_norm, name_key, name_pinyin, name_pinyin_fuzzy, former_name, former_name_key,
                          id_number, id_number_raw, phone, phone_raw, address, address_norm, address_room, address_floor,
                          address_key, hukou_address, birth_date_raw),
               {sql_mask_name('name')} AS name,
               {sql_mask_id('id_number')} AS id_number,
               {sql_mask_phone('phone')} AS phone,
               {sql_mask_text('address')} AS address
        FROM source_records""")
    con.execute(f"""CREATE OR REPLACE VIEW quarantine_masked AS
        SELECT * EXCLUDE (raw), {sql_mask_text('raw')} AS raw FROM quarantine""")
