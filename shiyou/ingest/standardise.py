"""Mapped person-records → standard person records (one SQL statement plus two dictionaries).

IDs, dates, phones and codes are standardised in SQL over whole columns. Names
and addresses need Chinese-aware code (traditional→simplified, pinyin, numerals
next to unit words), which runs once per *distinct* value and is joined back:
a district repeats the same spellings many times over.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from shiyou.ingest import dictionaries
from shiyou.ingest.dictionaries import ADDRESS_PARTS, NAME_COLUMNS
from shiyou.sql import create_table_as, literal, quote_ident
from shiyou.standard import id_number, phones
from shiyou.standard.elements import storage_compression

RESIDENT_LIKE = "(id_type IS NULL OR id_type = 'resident_id')"


def standardise(con: duckdb.DuckDBPyConnection, mapped: str, out: str, *, snapshot_date: dt.date,
                file: str, area_code: str, previous_db: str | None = None) -> None:
    """Create table `out` of standard person records (quality_flags still empty: validation fills them)."""
    # `mapped` is a view over the raw delivery: the values the dictionaries need are taken
    # from it in one pass (three narrow columns), not once per dictionary.
    values = f"__dictionary_values__{out}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(values)} AS "
                f"SELECT name, former_name, address FROM {quote_ident(mapped)}")
    dictionaries.fill(con, "names", values, ["name", "former_name"], previous_db)
    # Only where people live is parsed into parts; the hukou address is kept as delivered.
    dictionaries.fill(con, "addresses", values, ["address"], previous_db)
    con.execute(f"DROP TABLE {quote_ident(values)}")

    idc = id_number.sql_columns("__id_clean", "__id_first17")
    shaped = "(" + ", ".join(literal(x) for x in id_number.SHAPED_STATUSES) + ")"
    idd = id_number.sql_derived("__id18")
    ph = phones.sql_columns("__phone_digits", area_code)
    parts = ", ".join(f"a.{p} AS address_{p}" for p in ADDRESS_PARTS)
    names = ", ".join(f"n.{c}" for c in NAME_COLUMNS)
    create_table_as(
        con, out,
        f"""
        WITH m AS (
            SELECT *, {id_number.sql_cleaned('id_number_raw')} AS __id_clean,
                   {phones.sql_digits('phone_raw')} AS __phone_digits
            FROM {quote_ident(mapped)}
        ), m17 AS (
            SELECT *, {id_number.sql_first17('__id_clean')} AS __id_first17 FROM m
        ), i AS (
            SELECT *,
                CASE WHEN {RESIDENT_LIKE} THEN {idc['id_number']} ELSE nullif(__id_clean, '') END AS __id_norm,
                CASE WHEN {RESIDENT_LIKE} THEN {idc['id_status']}
                     WHEN __id_clean IS NULL OR __id_clean = '' THEN 'missing'
                     ELSE 'not_resident_id' END AS __id_status
            FROM m17
        ), d AS (
            SELECT *, CASE WHEN __id_status IN {shaped}
                           THEN __id_norm END AS __id18
            FROM i
        )
        SELECT
            d.source, d.record_id, d.source || ':' || d.record_id AS record_uid,
            CAST(? AS DATE) AS snapshot_date, CAST(? AS VARCHAR) AS file, d.line_no,
            d.name, {names},
            d.former_name, fn.name_key AS former_name_key,
            d.id_type, d.id_type_raw, d.id_number_raw,
            __id_norm AS id_number, __id_status AS id_status,
            (__id_status IN ('valid', 'upgraded_15', 'check_completed') AND {idd['id_birth_date']} IS NOT NULL) AS id_valid,
            {idd['id_division']} AS id_division, {idd['id_birth_date']} AS id_birth_date, {idd['id_sex']} AS id_sex,
            d.sex, d.sex_raw,
            d.birth_date, d.birth_date_raw,
            strftime(coalesce(d.birth_date, d.birth_date_month), '%Y-%m') AS birth_year_month,
            CASE WHEN d.birth_date IS NOT NULL THEN 'day' WHEN d.birth_date_month IS NOT NULL THEN 'month' END
                AS birth_date_precision,
            d.ethnic_group, d.ethnic_group_raw, d.marital_status, d.marital_status_raw,
            d.education, d.education_raw,
            {ph['phone']} AS phone, {ph['phone_type']} AS phone_type, d.phone_raw,
            d.address, a.address_norm, {parts}, a.address_key,
            d.hukou_address,
            d.address_code, d.household_id, d.relation_to_head, d.relation_to_head_raw,
            d.population_type, d.population_type_raw,
            CASE WHEN d.registration_cancelled IS FALSE THEN 'active'
                 WHEN d.registration_cancelled IS TRUE THEN coalesce(d.status, 'cancelled')
                 ELSE d.status END AS status,
            d.status_raw, d.status_date, d.status_date_raw, d.registration_cancelled,
            d.registered_on, d.registered_on_raw, d.employer, d.attributes,
            CAST([] AS VARCHAR[]) AS quality_flags
        FROM d
        LEFT JOIN _dictionary_names n ON n.v = d.name
        LEFT JOIN _dictionary_names fn ON fn.v = d.former_name
        LEFT JOIN _dictionary_addresses a ON a.v = d.address
        """,
        [snapshot_date, file],
        compression=storage_compression(),
    )
