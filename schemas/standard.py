"""The standard person record (标准人员记录) as a pandera model.

Columns and their documentation live in data_elements.yaml; this class states
the types and the rules. Every check carries the id of a rule in rules.yaml as
its name: the validator runs each check over whole columns and routes failing
rows by the rule's severity (error → quarantine, warning → quality_flags).

Columns starting with `__` are working columns of the standardisation step
(duplicate ranks, raw companions) that rules read; they are not published.
"""

from __future__ import annotations

import functools
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_types
from pandera.typing import Series

from shiyou.standard import codes
from shiyou.standard.id_number import SHAPED_STATUSES

STRING = pd.ArrowDtype(pa_types.string())
DATE = pd.ArrowDtype(pa_types.date32())
INT = pd.ArrowDtype(pa_types.int64())
BOOL = pd.ArrowDtype(pa_types.bool_())

CODE_FIELDS = ["sex", "ethnic_group", "marital_status", "education", "relation_to_head",
               "id_type", "population_type", "status"]


#: A check over several columns of a record. ``ignore_na=False``: pandera would otherwise let
#: through the rows whose every column is null, which a record never is (it always has its
#: source and line), by scanning the whole frame for nulls on every such check (0.8 of the
#: 1.4 s the standard took over 1M police records).
record_check = functools.partial(pa.dataframe_check, ignore_na=False)


def _unknown_code(df: pd.DataFrame, field: str) -> pd.Series:
    """Passes unless a value was delivered and no code could be found for it."""
    return ~(df[f"{field}_raw"].notna() & df[field].isna())


class StandardPersonRecord(pa.DataFrameModel):
    source: Series[STRING] = pa.Field(nullable=False)
    record_id: Series[STRING] = pa.Field(nullable=True)
    line_no: Series[INT] = pa.Field(nullable=False, ge=1)
    name: Series[STRING] = pa.Field(nullable=True)
    name_key: Series[STRING] = pa.Field(nullable=True)
    id_type: Series[STRING] = pa.Field(nullable=True, isin=codes.codes("id_document_types"))
    id_number: Series[STRING] = pa.Field(nullable=True)
    id_status: Series[STRING] = pa.Field(nullable=False, isin=codes.codes("id_status"))
    id_birth_date: Series[DATE] = pa.Field(nullable=True)
    id_sex: Series[STRING] = pa.Field(nullable=True)
    sex: Series[STRING] = pa.Field(nullable=True, isin=codes.codes("gb2261_1_sex"))
    birth_date: Series[DATE] = pa.Field(nullable=True)
    birth_year_month: Series[STRING] = pa.Field(nullable=True, str_matches=r"^\d{4}-\d{2}$")
    ethnic_group: Series[STRING] = pa.Field(nullable=True, isin=codes.codes("gb3304_ethnic"))
    marital_status: Series[STRING] = pa.Field(nullable=True, isin=codes.codes("gb2261_2_marital"))
    education: Series[STRING] = pa.Field(nullable=True, isin=codes.codes("gb4658_education"))
    relation_to_head: Series[STRING] = pa.Field(nullable=True, isin=codes.codes("gb4761_relationship"))
    population_type: Series[STRING] = pa.Field(nullable=True, isin=codes.codes("population_types"))
    status: Series[STRING] = pa.Field(nullable=True, isin=codes.codes("record_status"))
    phone: Series[STRING] = pa.Field(nullable=True, str_matches=r"^(1[3-9]\d{9}|0\d{9,11})$")
    snapshot_date: Series[DATE] = pa.Field(nullable=False)

    class Config:
        strict = False  # working and raw columns ride along
        coerce = False  # types are fixed by the SQL that builds the frame

    # ---------------------------------------------------------------- errors
    @pa.check("record_id", name="record_key_missing", ignore_na=False)
    def _record_key(cls, s: Series) -> Series[bool]:
        return s.notna()

    @record_check(name="record_key_duplicate")
    def _record_key_once(cls, df: pd.DataFrame) -> Series[bool]:
        return df["__key_rank"].fillna(1) == 1

    @pa.check("name", name="name_missing", ignore_na=False)
    def _name(cls, s: Series) -> Series[bool]:
        return s.notna()

    # ---------------------------------------------------------------- warnings
    @pa.check("name", name="name_has_digits")
    def _name_digits(cls, s: Series) -> Series[bool]:
        return ~s.fillna("").str.contains(r"[0-9０-９]", regex=True)

    @record_check(name="id_missing")
    def _id_missing(cls, df):
        return df["id_status"] != "missing"

    @record_check(name="id_malformed")
    def _id_malformed(cls, df):
        return df["id_status"] != "malformed"

    @record_check(name="id_scientific_notation")
    def _id_sci(cls, df):
        return df["id_status"] != "scientific_notation"

    @record_check(name="id_bad_check")
    def _id_check(cls, df):
        return df["id_status"] != "bad_check"

    @record_check(name="id_legacy_15")
    def _id_15(cls, df):
        return df["id_status"] != "upgraded_15"

    @record_check(name="id_check_completed")
    def _id_17(cls, df):
        return df["id_status"] != "check_completed"

    @record_check(name="id_birth_date_impossible")
    def _id_birth(cls, df):
        shaped = df["id_status"].isin(SHAPED_STATUSES)
        return ~(shaped & df["id_birth_date"].isna())

    @record_check(name="id_division_unknown")
    def _id_division(cls, df):
        return df["__division_known"].fillna(True)

    @record_check(name="id_repeated_in_source")
    def _id_repeat(cls, df):
        return df["__id_repeat"].fillna(1) <= 1

    @record_check(name="birth_date_unparseable")
    def _birth_parse(cls, df):
        return ~(df["birth_date_raw"].notna() & df["birth_year_month"].isna())

    @record_check(name="birth_date_out_of_range")
    def _birth_range(cls, df):
        born = df["birth_date"]
        bad = (born < pd.Timestamp("1900-01-01").date()) | (born > df["snapshot_date"])
        return ~bad.fillna(False)

    @record_check(name="birth_date_id_mismatch")
    def _birth_vs_id(cls, df):
        same_day = df["birth_date"] == df["id_birth_date"]
        same_month = df["birth_year_month"] == df["__id_birth_ym"]
        precise = df["birth_date"].notna()
        ok = same_day.where(precise, same_month)
        return ok.fillna(True).astype(bool)

    @record_check(name="sex_id_mismatch")
    def _sex_vs_id(cls, df):
        comparable = df["sex"].isin(["1", "2"]) & df["id_sex"].notna() & df["id_status"].isin(["valid", "upgraded_15"])
        return ~(comparable & (df["sex"] != df["id_sex"])).fillna(False).astype(bool)

    @pa.check("sex", name="sex_unstated")
    def _sex_unstated(cls, s):
        return ~s.isin(["0", "9"]).fillna(False).astype(bool)

    @record_check(name="code_unknown_sex")
    def _c_sex(cls, df):
        return _unknown_code(df, "sex")

    @record_check(name="code_unknown_ethnic_group")
    def _c_ethnic(cls, df):
        return _unknown_code(df, "ethnic_group")

    @record_check(name="code_unknown_marital_status")
    def _c_marital(cls, df):
        return _unknown_code(df, "marital_status")

    @record_check(name="code_unknown_education")
    def _c_education(cls, df):
        return _unknown_code(df, "education")

    @record_check(name="code_unknown_relation_to_head")
    def _c_relation(cls, df):
        return _unknown_code(df, "relation_to_head")

    @record_check(name="code_unknown_id_type")
    def _c_idtype(cls, df):
        return _unknown_code(df, "id_type")

    @record_check(name="code_unknown_population_type")
    def _c_pop(cls, df):
        return _unknown_code(df, "population_type")

    @record_check(name="code_unknown_status")
    def _c_status(cls, df):
        return _unknown_code(df, "status")

    @record_check(name="date_unparseable")
    def _other_dates(cls, df):
        ok = pd.Series(True, index=df.index)
        for f in ("registered_on", "status_date"):
            ok &= ~(df[f"{f}_raw"].notna() & df[f].isna())
        return ok

    @record_check(name="phone_unrecognised")
    def _phone(cls, df):
        return ~(df["phone_raw"].notna() & df["phone"].isna())
