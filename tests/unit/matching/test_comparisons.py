"""Every comparison level, table-driven through the real DuckDB engine and the generated gamma SQL.

Each case: (comparison, left record, right record, expected level, why). Records are
built as ingest builds them (names and IDs through the real normalisers), so a case
also pins the standardisation the levels rely on.
"""

from __future__ import annotations

import pytest

from shiyou.matching import comparisons
from shiyou.matching.model import load_matching_config
from tests.unit.matching.records import levels, make_id, record

CFG = load_matching_config()

T = make_id("440106", "19850314", "123")  # a valid ID
TWIN = make_id("440106", "19850314", "125")  # born the same day, next sequence number
T_TYPO = T[:9] + str((int(T[9]) + 1) % 10) + T[10:]  # one digit mistyped, check kept
T_SWAP = T[:14] + T[15] + T[14] + T[16:]  # sequence digits 1 and 2 swapped ("12" -> "21")
LEGACY_15 = "440106" + "850314" + "123"  # the same person's 15-digit number
BODY_TYPO_17 = T[:12] + str((int(T[12]) + 3) % 10) + T[13:17]  # 17 digits, one mistyped: check computed
T_BAD = T[:17] + ("0" if T[17] != "0" else "1")  # right digits, wrong check character
OTHER = make_id("440111", "19620101", "456")


FLAT = ("珠吉路", "414", "22", "502")
OLD_FLAT = ("天府路", "17", "2", "101")


def R(uid="x", _via=None, **kw):
    r = record(uid, **kw)
    if _via:
        r["_via"] = _via
    return r


CASES = [
    # --- ID ---------------------------------------------------------------------------------
    ("id", R(id_number=T), R(id_number=T), "exact", "same valid ID"),
    ("id", R(id_number=T.lower()), R(id_number=T), "exact", "lowercase / form only: normalised upstream"),
    ("id", R(id_number=T[:17]), R(id_number=T), "same_after_check_completed", "17 digits, check dropped"),
    ("id", R(id_number=LEGACY_15), R(id_number=T), "same_15_to_18", "legacy 15-digit number"),
    ("id", R(id_number=T_BAD), R(id_number=T_BAD), "same_failing_check", "same wrong number twice"),
    ("id", R(id_number=T_TYPO), R(id_number=T), "one_edit", "one digit mistyped"),
    ("id", R(id_number=T_BAD), R(id_number=T), "one_edit", "check character mistyped"),
    ("id", R(id_number=BODY_TYPO_17), R(id_number=T), "one_edit", "17 digits with a typo: computed check differs too"),
    ("id", R(id_number=T_SWAP), R(id_number=T), "transposition", "two adjacent digits swapped"),
    ("id", R(id_number=TWIN), R(id_number=T), "different_valid", "twins: IDs differ in sequence + check"),
    ("id", R(id_number=OTHER), R(id_number=T), "different_valid", "another person"),
    ("id", R(id_number="E12345678", id_type="passport"), R(id_number=T), "different_document", "passport vs resident ID"),
    ("id", R(id_number="E12345678", id_type="passport"), R(id_number="E12345678", id_type="passport"), "exact",
     "same passport number"),
    ("id", R(id_number=T_BAD[:5] + "99999" + T_BAD[10:]), R(id_number=T), "different", "failing check, far away"),
    ("id", R(id_number=None), R(id_number=T), "missing", "no ID"),
    ("id", R(id_number="4.40106E+17"), R(id_number=T), "missing", "scientific notation: digits gone"),
    # --- name -------------------------------------------------------------------------------
    ("name", R(name="张伟"), R(name="张伟"), "exact", ""),
    ("name", R(name="张 伟"), R(name="张伟"), "exact", "stray space removed by name_norm"),
    ("name", R(name="阿卜杜•热合曼"), R(name="阿卜杜·热合曼"), "exact", "separator unified by name_norm"),
    ("name", R(name="張偉"), R(name="张伟"), "same_key", "traditional vs simplified"),
    ("name", R(name="王小红", former_name="王红"), R(name="王红"), "former_name", "another department uses the 曾用名"),
    ("name", R(name="阿卜杜·热合曼"), R(name="热合曼·阿卜杜"), "parts_reordered", "minority name, parts swapped"),
    ("name", R(name="KIM PAUL"), R(name="PAUL KIM"), "parts_reordered", "passport name, parts swapped"),
    ("name", R(name="刘洋"), R(name="柳阳"), "same_pinyin", "homophone: liu yang"),
    ("name", R(name="张伟"), R(name="章玮"), "same_pinyin", "homophone: zhang wei"),
    ("name", R(name="刘明"), R(name="牛明"), "near_homophone", "n/l: liu / niu"),
    ("name", R(name="陈静"), R(name="陈进"), "near_homophone", "in/ing: jing / jin"),
    ("name", R(name="王己明"), R(name="王已明"), "lookalike", "己/已"),
    ("name", R(name="王芳"), R(name="玉芳"), "lookalike", "王/玉 in the surname"),
    ("name", R(name="黄洁兰"), R(name="黄兰"), "similar", "a dropped character"),
    ("name", R(name="郭宏超"), R(name="郭宏超超"), "similar", "a doubled character"),
    ("name", R(name="李建国"), R(name="李建华"), "similar", "one character of three differs: weak evidence"),
    ("name", R(name="张伟"), R(name="张强"), "different", "2 characters, one differs: not similar"),
    ("name", R(name="张伟"), R(name="王芳"), "different", ""),
    ("name", R(name=None), R(name="王芳"), "missing", ""),
    # --- birth date -------------------------------------------------------------------------
    ("birth_date", R(birth="1985-03-14"), R(birth="1985-03-14"), "exact", ""),
    ("birth_date", R(birth="1985-03"), R(birth="1985-03-14"), "month_only_agrees", "labour: birth month only"),
    ("birth_date", R(birth="1985-03"), R(birth="1985-03"), "month_only_agrees", "both month only"),
    ("birth_date", R(birth="1985-03"), R(birth="1985-04-14"), "different", "month only, other month"),
    ("birth_date", R(birth="1985-03-15"), R(birth="1985-03-14"), "one_typo", "one digit of the day"),
    ("birth_date", R(birth="1986-03-14"), R(birth="1985-03-14"), "one_typo", "one digit of the year"),
    ("birth_date", R(birth="1985-04-03"), R(birth="1985-03-04"), "one_typo", "day and month swapped"),
    ("birth_date", R(birth="1985-03-21"), R(birth="1985-03-12"), "different", "two digits differ"),
    ("birth_date", R(birth="1985-05-20"), R(birth="1985-03-14"), "different", ""),
    ("birth_date", R(birth=None), R(birth="1985-03-14"), "missing", "family-planning husband"),
    # --- sex --------------------------------------------------------------------------------
    ("sex", R(sex="1"), R(sex="1"), "same", ""),
    ("sex", R(sex="1"), R(sex="2"), "different", ""),
    ("sex", R(sex="9"), R(sex="1"), "missing", "unstated"),
    ("sex", R(sex=None), R(sex="2"), "missing", ""),
    # --- phone (the shared case gets a third record in CONTEXT) ------------------------------
    ("phone", R(name="张伟", phone="13800000001"), R(name="张伟", phone="13800000001"), "exact", "one name uses it"),
    ("phone", R(name="章玮", phone="13800000009"), R(name="张伟", phone="13800000009"), "exact",
     "homophone name variants count as one name"),
    ("phone", R(name="张伟", phone="13800000002"), R(name="张伟", phone="13800000002"), "exact_shared",
     "the number is also a household member's (see CONTEXT)"),
    ("phone", R(phone="13800000003"), R(phone="13800000004"), "different", ""),
    ("phone", R(phone=None), R(phone="13800000004"), "missing", ""),
    # --- address ----------------------------------------------------------------------------
    ("address", R(address=("天府路", "241", "8", "1403")), R(address=("天府路", "241", "8", "1403")), "same_room", ""),
    ("address", R(address=("天府路", "241", "8", "1403"), address_code="44010600000000000001"),
     R(address=("天府路", "241", "8", "1404"), address_code="44010600000000000001"), "same_room",
     "same police standard address (DZBM)"),
    ("address", R(address=("天府路", "241", "8", "1403")), R(address=("天府路", "241", "8", "902")), "same_building", ""),
    ("address", R(address=("天府路", "241", "8", "1403")), R(address=("天府路", "241", "9", "1403")),
     "same_road_number", ""),
    ("address", R(address=("天府路", "241", "8", "1403"), estate="天骏豪庭"),
     R(address=("天府路", "243", "9", "1403"), estate="天骏豪庭"), "same_road_number", "same estate"),
    ("address", R(address=("天府路", "241", "8", "1403")), R(address=("天府路", "17", "2", "101")), "same_street",
     "same road"),
    ("address", R(address=("珠吉路", "414", "8", "1403"), street="珠吉街道"),
     R(address=("吉山东路", "603", "2", "101"), street="珠吉街道"), "same_street", ""),
    ("address", R(address=("天府路", "241", "8", "1403")), R(address=("珠吉路", "414", "27", "1403")), "different", ""),
    ("address", R(address=None), R(address=("珠吉路", "414", "27", "1403")), "missing", ""),
    # --- household ---------------------------------------------------------------------------
    ("household", R(household_id="H1", address_code="A1"), R(household_id="H1", address_code="A1"), "same_household", ""),
    ("household", R(household_id="H1", address_code="A1"), R(household_id="H2", address_code="A1"),
     "same_standard_address", "two households at one flat"),
    ("household", R(household_id="H1", address_code="A1"), R(household_id="H2", address_code="A2"), "different", ""),
    ("household", R(household_id=None), R(household_id="H2"), "missing", "not a police record"),
    # --- family-planning role against police relationship -----------------------------------
    ("family_role", R(role="husband"), R(relation_to_head="11"), "spouse_or_head", "husband vs police 夫"),
    ("family_role", R(relation_to_head="02"), R(role="husband"), "spouse_or_head", "husband vs police 户主"),
    ("family_role", R(role="wife"), R(relation_to_head="12"), "spouse_or_head", "wife vs police 妻"),
    ("family_role", R(role="husband"), R(relation_to_head="20"), "other_relation", "husband vs police 子: his son"),
    ("family_role", R(role="wife"), R(relation_to_head="11"), "other_relation", "wife vs a husband's record"),
    ("family_role", R(), R(relation_to_head="02"), "not_applicable", "no family-planning role"),
    ("family_role", R(role="husband", _via=["partner_household"]), R(relation_to_head="10"), "wife_household",
     "found through his wife's police household"),
    # --- name and place together -------------------------------------------------------------
    ("name_at_place", R(name="罗达国", address=FLAT), R(name="罗达国", address=FLAT), "same_name_same_flat", ""),
    ("name_at_place", R(name="罗达国", address=OLD_FLAT, _via=["partner_household_by_name"]),
     R(name="罗大国", address=FLAT), "similar_name_wife_household", "husband with an old address and a homophone"),
    ("name_at_place", R(name="罗达国", address=FLAT), R(name="罗大国", address=FLAT), "similar_name_same_flat",
     "homophone at the same flat"),
    ("name_at_place", R(name="罗达国", address=FLAT), R(name="罗达国", address=("珠吉路", "414", "9", "101")),
     "same_name_same_door", "same name, same road and door number"),
    ("name_at_place", R(name="罗达国", address=FLAT), R(name="李娜", address=FLAT), "other", "household member"),
    ("name_at_place", R(name="罗达国", address=OLD_FLAT, _via=["partner_household"]), R(name="李娜", address=FLAT),
     "other", "his wife's household, another name: the wife herself"),
    ("name_at_place", R(name=None), R(name="李娜"), "missing", ""),
]

CONTEXT = [record("C0001", name="王芳", phone="13800000002")]  # the household member sharing a number


@pytest.fixture(scope="module")
def got(duck_module):
    return levels(duck_module, CFG, [(left, right) for _, left, right, _, _ in CASES], CONTEXT)


@pytest.fixture(scope="module")
def duck_module():
    import duckdb

    con = duckdb.connect()
    yield con
    con.close()


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c[0]}-{c[3]}-{n}" for n, c in enumerate(CASES)])
def test_level(got, i):
    comparison, _, _, expected, why = CASES[i]
    assert got[i][comparison] == expected, why


def test_every_level_of_every_comparison_has_a_case():
    covered = {(c[0], c[3]) for c in CASES}
    for comp in CFG.comparisons:
        for label in comp.level_labels().values():
            assert (comp.name, label) in covered, f"{comp.name}.{label} has no case"


def test_levels_are_symmetric(duck_module):
    """Swapping left and right never changes a level: the conditions are written both ways."""
    swapped = levels(duck_module, CFG, [(right, left) for _, left, right, _, _ in CASES], CONTEXT)
    for i, (comparison, _, _, expected, why) in enumerate(CASES):
        assert swapped[i][comparison] == expected, f"{comparison} {expected} not symmetric: {why}"


def test_hard_cases_across_comparisons(duck_module):
    """The register's hard cases, all comparisons at once."""
    flat = ("岑村路", "142", "9", "301")
    twin_a = record("a", name="李浩然", id_number=T, birth="1985-03-14", sex="1", address=flat,
                    household_id="H9", address_code="A9", relation_to_head="20")
    twin_b = record("b", name="李浩宇", id_number=TWIN, birth="1985-03-14", sex="1", address=flat,
                    household_id="H9", address_code="A9", relation_to_head="20")
    neighbour_a = record("c", name="张杰", id_number=make_id("440106", "19900101", "111"), birth="1990-01-01",
                         sex="1", address=("珠吉路", "414", "3", "502"))
    neighbour_b = record("d", name="张杰", id_number=make_id("440106", "19900101", "333"), birth="1990-01-01",
                         sex="1", address=("珠吉路", "414", "7", "1101"))
    husband_fp = record("e", name="罗达国", sex="1", address=("珠吉路", "414", "22", "502"), role="husband",
                        phone="18800000001")
    husband_police = record("f", name="罗达国", id_number=make_id("440106", "19780603", "173"), birth="1978-06-03",
                            sex="1", address=("珠吉路", "414", "22", "502"), household_id="H7", relation_to_head="11")
    son_police = record("g", name="罗达", id_number=make_id("440106", "20050101", "011"), birth="2005-01-01",
                        sex="1", address=("珠吉路", "414", "22", "502"), household_id="H7", relation_to_head="20")
    got_ = levels(duck_module, CFG, [(twin_a, twin_b), (neighbour_a, neighbour_b), (husband_fp, husband_police),
                                     (husband_fp, son_police)])
    assert got_[0] == {**got_[0], "id": "different_valid", "birth_date": "exact", "household": "same_household",
                       "name": "similar"}
    assert got_[1]["name"] == "exact" and got_[1]["birth_date"] == "exact" and got_[1]["id"] == "different_valid"
    assert got_[1]["address"] == "same_road_number"
    assert got_[2] == {**got_[2], "name": "exact", "id": "missing", "birth_date": "missing",
                       "address": "same_room", "family_role": "spouse_or_head"}
    assert got_[3]["family_role"] == "other_relation" and got_[3]["name"] != "exact"


def test_gamma_sql_has_one_column_per_comparison_and_the_term_frequencies():
    sql = comparisons.gamma_sql(CFG)
    for comp in CFG.comparisons:
        assert f'"{comp.column}"' in sql
    for tf in ("phone_records", "phone_names", "name_records"):
        assert f'"{tf}_l"' in sql and f'"{tf}_r"' in sql
