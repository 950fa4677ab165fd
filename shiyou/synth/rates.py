"""Every rate the generator uses, in one place.

Dirt and broken-row rates are multiplied by ``dirt_multiplier`` (0 gives clean
files); coverage, life events and hard cases are facts of the district and are not.
"""

from __future__ import annotations

SOURCES = ("civil_affairs", "labour", "family_planning", "social_security", "police")

# --- the people -----------------------------------------------------------------------
POPULATION = {
    "registered_share": 0.55,  # of households: 户籍
    "foreign_share": 0.006,  # of households: 境外人员
    "deceased": 0.020,  # extra people, per actual resident, who died in the last 5 years
    "moved_out": 0.045,  # extra people who left the district in the last 5 years
    "moved_within": 0.07,  # households that moved inside the district (stale addresses)
    "former_name": 0.025,  # people with a 曾用名
    "landline": 0.04,  # households with a landline
    "changed_mobile": 0.10,  # people whose mobile changed (old number still around)
    "low_income_household": 0.04,  # of registered households (低保 needs a local hukou)
    "disabled": 0.018,
}

# --- coverage: probability that a person has a record in a source ---------------------
COVERAGE = {
    "police_registered": 0.995, "police_migrant": 0.94, "police_foreign": 0.95,
    "police_deceased_cancelled": 0.95,
    "police_moved_cancelled": 0.75, "police_moved_still_active": 0.15,  # rest: never in
    "ss_child": 0.35, "ss_employed": 0.80, "ss_flexible": 0.50, "ss_unemployed": 0.5,
    "ss_retired": 0.75, "ss_other_adult": 0.20, "ss_foreign": 0.35,
    "ss_deceased": 0.5, "ss_moved": 0.5,
    "labour_employed": 0.36, "labour_unemployed": 0.9, "labour_flexible": 0.5,
    "labour_retired": 0.04, "labour_moved": 0.3,
    "civil_80plus": 0.85, "civil_low_income": 0.9, "civil_disabled": 0.8,
    "civil_temporary": 0.006, "civil_extremely_poor": 0.25, "civil_second_service": 0.08,
    "fp_married": 0.55, "fp_unmarried_20plus": 0.15, "fp_teen": 0.04, "fp_moved": 0.3,
    "fp_husband_named": 0.92,  # married rows that name the husband
    "fp_husband_id": 0.40,  # rows naming the husband that also give his ID
}

# --- departmental habits (facts of each extract, not dirt) -----------------------------
HABITS = {
    # Share of records of a household with a landline that give the landline.
    "landline_police": 0.3, "landline_social_security": 0.1, "landline_civil_affairs": 0.3,
    "landline_civil_affairs_70plus": 0.7, "landline_family_planning": 0.2,
    "police_duplicate_noticed": 0.25,  # cancelled as 重复登记
    "police_other_reason": 0.01,  # ZXYY 其他
    "civil_stopped": 0.05,  # 停发
    "civil_ethnic_blank": 0.03, "civil_marital_blank": 0.10,
    "fp_birth_date_cell": 0.7,  # else text YYYY/M/D
    "fp_opened_date_cell": 0.6,  # else text YYYY-MM-DD
    "fp_hukou_county_only": 0.55,  # registered women: 户籍地 just 广东省广州市天河区
}

# --- hard cases: share of actual residents (at least one each when N allows) ---------
HARD_CASES = {
    "twin": 0.002,  # twin pairs
    "same_name_neighbour": 0.0008,  # pairs
    "shared_id_number": 0.00005,  # pairs issued the same number (重号)
    "ss_duplicate": 0.003,
    "police_duplicate": 0.001,
    "id_of_household_member": 0.001,
    "former_name_used": 0.002,
    "deceased_still_paid": 0.0008,
    "reassigned_phone": 0.0008,  # pairs: A's old mobile is now B's
}

# --- dirt ---------------------------------------------------------------------------
# Base rate per record; the record's source factor and --dirt-multiplier scale it.
DIRT_RATES = {
    # resident ID numbers
    "id_fullwidth": 0.004,
    "id_spaces": 0.006,
    "id_legacy_15": 0.012,  # only people born before 1985 hold one
    "id_check_dropped": 0.004,
    "id_apostrophe": 0.006,
    "id_sci_notation": 0.003,  # 4.40106E+17
    "id_excel_precision": 0.002,  # 15 significant digits kept: ...000
    "id_mistyped_digit": 0.004,
    "id_swapped_digits": 0.003,
    "id_blank": 0.012,
    "id_lowercase_x": 0.30,  # share of numbers ending in X
    # names
    "name_homophone": 0.008,
    "name_near_homophone": 0.005,
    "name_lookalike": 0.002,
    "name_surname_typo": 0.002,
    "name_dropped_char": 0.0015,
    "name_doubled_char": 0.001,
    "name_traditional": 0.004,
    "name_stray_space": 0.006,
    "name_separator": 0.45,  # share of dotted (Uyghur) names
    "name_parts_swapped": 0.06,  # share of dotted and Latin names
    "name_transliteration": 0.10,  # share of minority names
    # dates, sex
    "date_impossible": 0.0015,
    "date_off": 0.002,
    "sex_unknown_code": 0.003,  # police only: 0 / 9
    "sex_flipped": 0.001,
    # addresses
    "addr_other_style": 0.25,  # written in another of the dozen ways
    "addr_estate_dropped": 0.03,
    "addr_traditional": 0.004,
    "addr_stale": 0.35,  # of in-district movers: the old address is still on file
    # phones
    "phone_plus86": 0.02,
    "phone_spaces": 0.02,
    "phone_dashes": 0.015,
    "phone_blank": 0.05,
    "phone_stale": 0.30,  # of changed numbers: the old one is still on file
    "phone_as_number": 0.02,  # xlsx only: a numeric cell
    # civil affairs only: free text with commas / quotes (RFC 4180 quoting needed)
    "text_punctuation": 0.02,
}
# How dirty each department is relative to the base rates.
SOURCE_DIRT_FACTOR = {
    "police": 0.35, "social_security": 1.0, "labour": 1.4, "civil_affairs": 1.6,
    "family_planning": 1.8,
}
# Kinds that only happen where a spreadsheet touched the data.
EXCEL_ONLY = {"id_apostrophe", "id_sci_notation", "id_excel_precision"}
EXCEL_SOURCES = {"labour", "civil_affairs", "family_planning"}
# Kinds whose rate is a share of eligible values (not scaled by the source factor).
SHARE_KINDS = {"id_lowercase_x", "name_separator", "name_parts_swapped", "name_transliteration"}

# --- broken rows: share of rows, at least one of each per file while dirt is on -------
BROKEN_RATES = {"wrong_column_count": 0.0012, "missing_name": 0.0010}


def dirt_rate(kind: str, source: str, multiplier: float) -> float:
    """The rate of one dirt kind in one source."""
    if kind in EXCEL_ONLY and source not in EXCEL_SOURCES:
        return 0.0
    factor = 1.0 if kind in SHARE_KINDS else SOURCE_DIRT_FACTOR[source]
    return min(1.0, DIRT_RATES[kind] * factor * multiplier)
