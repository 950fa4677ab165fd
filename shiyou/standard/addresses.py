"""Address standardisation: one normalised string, parsed parts, a flat key.

``normalise_addresses`` works on a whole column (the pipeline passes the
DISTINCT raw addresses and joins back).  Every step is a pyarrow.compute
kernel (C++ / RE2) over the column, split in two chunks run on two threads;
only the rows that need it leave C++: those with a traditional character
(``str.translate``) and those with a Chinese numeral next to a unit word
(``re.sub`` with a numeral parser). Steps 1–2 run only on values holding a
character they may change (``_MAY_CHANGE_IN_STEPS_1_2``): most addresses are
CJK unified ideographs, digits and capitals only.

Normalisation (``address_norm``), in order:

1. NFKC (full-width digits/letters → ASCII), Latin letters upper-cased.
2. Dash variants and ``~`` → ``-``; every other character that is not a
   letter, digit, ``-`` or ``#`` is removed (spaces, U+3000, punctuation,
   brackets — their content is kept).
3. Traditional → simplified, char by char (號 → 号, 棟 → 栋, 樓 → 楼).
4. Chinese numerals → Arabic ONLY when the numeral touches a unit word:
   before 号 弄 栋 幢 座 楼 单元 室 房 层 期, or right after 栋 幢 座 楼 层 单元
   (``三栋`` → ``3栋``, ``十五楼零二`` → ``15楼02``).  Never blanket:
   ``三里屯``, ``中山一路``, ``五羊新城`` stay as they are.  ``第`` before a
   numbered unit is dropped (``第三期`` → ``3期``).
5. Unit words unified after a number/letter: 栋/幢/座/号楼/``#`` → ``栋``;
   房/室/号房 → ``室``; a 号 number right after 栋/单元 is a room
   (``3栋1502号`` → ``3栋1502室``).  A dash survives only between two
   letters/digits (``3-2-1502``), elsewhere it is dropped (``3栋-1502``).
   ``N楼`` is a FLOOR (``号楼`` is the building).

Parts (null when absent): ``province``, ``city``, ``district`` (county
level), ``street`` (街道/镇/乡), ``community`` (社区/居委会/村委会), ``road``
(incl. a trailing 东/西/南/北/中 when a number follows, and numbered lanes
such as ``一巷``/``2横路``), ``door_number`` (the 号 of the road; Shanghai
lanes as ``123弄5``), ``estate`` (the free text between door number and
building, incl. a phase ``2期``), ``building``, ``unit``, ``floor``,
``room`` (digits).

Room rules: ``1502室``; a trailing bare number (``3栋1502``); ``F楼R`` is
floor F and room ``R`` if R already starts with F and is longer
(``15楼1502`` → 1502) else ``F`` + R zero-padded to 2 (``15楼02`` → 1502,
``5楼3`` → 503); ``B-U-R`` / ``B-R`` at the very end are
building-unit-room / building-room (``3-2-1502``, ``3-1502``).

``address_key`` = ``road|door_number|building|room``.  Left out because
sources omit them inconsistently: province, city, district, street,
community, estate — and the UNIT: "3栋2单元1502" and "3栋1502" are written
for the same flat all the time, while in a multi-unit building the same room
number in another unit is another flat.  A key that misses a flat every time
a unit is dropped is worse for linkage than one that, within one building,
puts flats with the same room number together; the ``unit`` part is kept so
that the matcher can tell them apart when both records carry it.  If there is
no road the estate takes the road slot, marked ``@`` (``@中信广场||3|1502``);
if there is neither, or none of door/building/room, the key is null (too
weak to identify a flat).  A floor with no room fills the room slot as
``F<floor>``.

Short names: 广东/广州/天河 without 省/市/区 are recognised (and reported
by the full name from the division table: 广东省, 广州市, 天河区) when
followed by a city/district or by two characters that cannot end a road (广州天河北路 →
广州 | 天河北路, but 广州大道, 南京路, 南京东路 stay roads); 中山 and 东莞 never
(see :data:`AMBIGUOUS_SHORT_NAMES`).  A county name without 区 glued to the
road is split off when the rest is a road of its own (广州天河天河路 → 天河 |
天河路; 天河北路 and 天河南二路 stay whole).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from functools import lru_cache, partial
from importlib import resources
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shiyou.standard.chinese import (
    CHINESE_NUMERAL_CHARS,
    as_arrow_strings,
    empty_to_null,
    map_rows_where,
    nfkc_array,
    parse_chinese_numeral,
    run_chunked,
    to_frame,
    to_simplified_array,
)

PART_COLUMNS = [
    "province",
    "city",
    "district",
    "street",
    "community",
    "road",
    "door_number",
    "estate",
    "building",
    "unit",
    "floor",
    "room",
]
ADDRESS_COLUMNS = ["address_norm", *PART_COLUMNS, "address_key"]


# --------------------------------------------------------------------------
# Step 4: Chinese numerals next to unit words (Python, on flagged rows only)
# --------------------------------------------------------------------------

_NUM = CHINESE_NUMERAL_CHARS
_UNITS_AFTER = "号|弄|栋|幢|座|楼|单元|室|房|层|期"
_UNITS_BEFORE = "栋|幢|座|楼|层|单元"
# RE2 filter: which rows need the Python pass at all.
_RE2_NEEDS_NUMERALS = f"[{_NUM}]+(?:{_UNITS_AFTER})|(?:{_UNITS_BEFORE})[{_NUM}]"
_PY_NUM_BEFORE_UNIT = re.compile(f"第?([{_NUM}]+)(?={_UNITS_AFTER})")
_PY_NUM_AFTER_UNIT = re.compile(f"(?<=[栋幢座楼层元])([{_NUM}]+)")


def _numeral_sub(m: re.Match[str]) -> str:
    parsed = parse_chinese_numeral(m.group(1))
    return parsed if parsed is not None else m.group(0)


def convert_unit_numerals(s: str) -> str:
    """Chinese numerals → Arabic, only where they touch a unit word."""
    s = _PY_NUM_BEFORE_UNIT.sub(_numeral_sub, s)
    return _PY_NUM_AFTER_UNIT.sub(_numeral_sub, s)


# --------------------------------------------------------------------------
# Step 5: unit-word unification (RE2 rewrite rules, applied in order)
# --------------------------------------------------------------------------

# (trigger, pattern, replacement): ``trigger`` is a cheap DFA-only test that
# selects the rows the (backreference-using, hence slower) rewrite runs on.
_UNIT_RULES: list[tuple[str, str, str]] = [
    ("第", r"第(\d+)(号楼|栋|幢|座|单元|层|楼|期|区)", r"\1\2"),
    ("号楼|幢|座|#", r"([0-9A-Z]+)(?:#(?:号楼|楼|栋|座|幢)?|号楼|幢|座)", r"\1栋"),
    ("房|号室", r"(\d+)号?(?:房|室)", r"\1室"),
    # "3栋1502号": after a building/unit the 号 number is the room.
    (r"(?:栋|单元)\d+号", r"(栋|单元)(\d+)号", r"\1\2室"),
    ("#", r"#+", ""),
    # A dash only separates numbers (3-2-1502, 233-235号); next to a word it
    # is noise (金碧小区-1502, 3栋-1502).
    (r"[^0-9A-Z-]-|-[^0-9A-Z-]", r"([^0-9A-Z-])-+|-+([^0-9A-Z-])", r"\1\2"),
]

# --------------------------------------------------------------------------
# The parsing pattern (RE2, named groups), built from the division table
# --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def divisions() -> list[dict[str, str]]:
    """Rows of ``schemas/codes/gb2260_divisions.csv``."""
    path = resources.files("schemas").joinpath("codes", "gb2260_divisions.csv")
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


#: Prefecture names never taken in their short form: they start everyday
#: place names (中山路, 中山纪念堂, 中山南路 — in every Guangdong city; 东莞庄路 in
#: 天河区).  Their full forms (中山市, 东莞市) are still recognised.
AMBIGUOUS_SHORT_NAMES = frozenset({"中山", "东莞"})

_PROVINCE_SUFFIXES = ("维吾尔自治区", "回族自治区", "壮族自治区", "特别行政区", "自治区", "省", "市")


def _short(name: str) -> str:
    for suf in _PROVINCE_SUFFIXES:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return name


def _alt(names) -> str:
    # Longest first so that e.g. 内蒙古自治区 wins over a shorter prefix.
    return "|".join(re.escape(n) for n in sorted(set(names), key=lambda x: (-len(x), x)))


@lru_cache(maxsize=1)
def _patterns() -> dict[str, str]:
    """The RE2 patterns used by :func:`_parse`, built from the division table.

    Parsing is split for speed: one big pattern with ~25 groups costs
    ~10 µs/value in RE2 (its DFA blows up and it falls back to the NFA),
    while the admin prefix has few distinct values per district.  So:

    ``scan``        cheap: the longest run of admin-looking tokens at the
                    start (anything ending in 省/市/区/县/街道/镇/社区…);
                    over-grabbing is fine;
    ``scan_short``  the same for the few rows starting with a short name
                    (广东/广州…), with a two-character ``guard``;
    ``admin``       the precise province/city/district/street/community
                    pattern, run only on the DISTINCT scanned prefixes; what
                    it does not accept (``rest``, ``guard``) goes back to the body;
    ``body``        road, door number, estate, building, unit, floor, room;
    ``road_county`` a short county name glued to the road (广州天河天河路).
    """
    rows = divisions()
    prov = [r["name"] for r in rows if r["level"] == "province"]
    pref = [r["name"] for r in rows if r["level"] == "prefecture"]
    cnty = [r["name"] for r in rows if r["level"] == "county"]
    prov_short = [_short(p) for p in prov]
    pref_short = [p[:-1] for p in pref if p.endswith("市") and p[:-1] not in AMBIGUOUS_SHORT_NAMES]

    # A name character of a generic division: never an admin/road suffix or
    # a digit (keeps 人民北路市场 from becoming a "city").
    g = r"[^省市区县镇乡路街道巷号村\d]"
    # Autonomous prefectures/counties carry the ethnic groups in the name
    # (黔东南苗族侗族自治州, 三江侗族自治县): longer names allowed there.
    generic_city = f"{g}{{2,10}}?自治州|{g}{{2,4}}?(?:市|地区|盟)"
    # Not 小区/社区/园区/校区/厂区 (estates, not districts).
    generic_county = (
        f"{g}{{2,10}}?自治[县旗]|{g}{{0,4}}?[^省市区县镇乡路街道巷号村小社园校厂\\d](?:区|县|旗)|{g}{{2,3}}?市"
    )
    city_full = f"{_alt(pref)}|{generic_city}"

    # A bare short city name followed by two characters that are not a road
    # suffix is the city (广州天河北路 → 广州 | 天河北路); otherwise it is part
    # of the road (广州大道, 南京路, 南京东路).  RE2 has no look-ahead, so the
    # short-name scan hands over two extra characters (``guard``) and this
    # alternative only applies when the candidate ends right there.
    guard = r"[^路街道巷号大省市区县\d][^路街道巷号\d]"
    admin = (
        "^"
        f"(?:(?P<province_s2>{_alt(prov_short)})?(?P<city_s2>{_alt(pref_short)})(?P<guard>{guard})$|"
        f"(?:(?P<province>{_alt(prov)})"
        f"|(?P<province_s>{_alt(prov_short)})(?P<city_ps>{city_full}|{_alt(pref_short)})"
        # municipalities have no prefecture: 北京朝阳区
        f"|(?P<province_ms>北京|天津|上海|重庆)(?P<district_ms>{_alt(cnty)}|{generic_county}))?"
        f"(?:(?P<city>{city_full})"
        f"|(?P<city_s>{_alt(pref_short)})(?P<district_cs>{_alt(cnty)}|{generic_county}))?"
        f"(?P<district>{_alt(cnty)}|{generic_county})?"
        r"(?P<street>[^省区县镇乡路街道巷号\d]{1,6}?(?:街道办事处|街道|镇|乡))?"
        r"(?P<community>[^路街道巷号\d]{1,8}?(?:社区居民委员会|社区居委会|居民委员会|村民委员会|居委会|村委会|社区))?"
        r")(?P<rest>.*)$"
    )
    scan = r"(?:[^路街巷号\d]*?(?:省|市|区|县|旗|自治州|盟|街道|办事处|镇|乡|社区|委员会|居委会|村委会))*"
    short = _alt(prov_short + pref_short)
    scan_short = f"(?:{_alt(prov_short)})?(?:{_alt(pref_short)})?(?:{guard})?"

    num = f"[\\d{_NUM}]"
    road = (
        # 坊: urban-village quarters (元岗村东坊30巷16号).
        r"(?P<road>\D*?(?:大道|胡同|路|街|巷|道|坊)"
        f"(?:{num}{{1,3}}(?:横路|横街|巷|街|条|里))?)"
        # A direction after the road only counts when a number follows it.
        r"(?:(?P<road_dir>[东西南北中])?(?P<lane>\d+)弄(?:(?P<lane_door>\d+[A-Z]?)号院?)?"
        r"|(?P<road_dir2>[东西南北中])?(?P<door_number>\d+[A-Z]?(?:-\d+[A-Z]?)?)号院?)?"
    )
    # Letters may belong to an estate name (SOHO东海岸) but not when they are
    # a building id (A栋).
    estate = r"(?P<estate>(?:[^\dA-Z]|[A-Z]+[^\dA-Z栋])*(?:\d+[期区](?:[^\dA-Z]|[A-Z]+[^\dA-Z栋])*)*)"
    tail = (
        r"(?:(?P<dash_b3>[0-9A-Z]+)-(?P<dash_u3>\d+)-(?P<dash_r3>\d+)室?$"
        r"|(?P<dash_b2>[0-9A-Z]+)-(?P<dash_r2>\d+)室?$"
        r"|(?:(?P<building>[0-9A-Z]+)栋)?(?:(?P<unit>\d+)单元)?"
        r"(?:(?P<floor>\d+)[层楼](?:(?P<floor_room>\d+)室?)?)?"
        r"(?:(?P<room>\d+)室|(?P<room_end>\d+)$)?)"
    )
    body = f"^(?:{road})?{estate}{tail}"
    only_short = f"^(?:{_alt(prov_short)})?(?:{_alt(pref_short)})?$"
    # A county name without 区/县 glued to the road (广州天河天河路 → 天河 |
    # 天河路), but only if what is left is a road of its own: not just a
    # direction/ordinal + suffix (天河北路, 天河南二路, 黄埔大道 stay whole).
    county_short = [_county_short(c) for c in cnty]
    short_only_value = (
        f"^(?P<province_s2>{_alt(prov_short)})?(?P<city_s2>{_alt(pref_short)})?"
        f"(?P<district_s2>{_alt([c for c in county_short if c])})?$"
    )
    road_county = f"^(?P<county>{_alt([c for c in county_short if c])})(?P<road>..+)$"
    road_own_tail = r"^[东西南北中]{0,2}[\d一二三四五六七八九十]*(?:大道|胡同|路|街|巷|道)"
    return {
        "scan": scan,
        "short": short,
        "scan_short": scan_short,
        "only_short": only_short,
        "admin": admin,
        "body": body,
        "road_county": road_county,
        "road_own_tail": road_own_tail,
        "short_only_value": short_only_value,
    }


def _county_short(name: str) -> str | None:
    for suf in ("自治县", "区", "县", "市", "旗"):
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return None


# --------------------------------------------------------------------------
# Column API
# --------------------------------------------------------------------------


#: A character steps 1–2 may change. A value made only of CJK unified ideographs (which NFKC
#: leaves alone, unlike the compatibility ideographs U+F900…), ASCII digits and capitals comes
#: out of NFKC, upper-casing and the junk and dash clean-up as it went in; most addresses are
#: such values, so only the others take those four passes (at 1M residents 2.1 of the 5
#: CPU-seconds of normalising the distinct addresses, for a 0.15 s test).
_MAY_CHANGE_IN_STEPS_1_2 = r"[^\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}0-9A-Z]"


def _steps_1_2(arr: pa.Array) -> pa.Array:
    arr = pc.utf8_upper(nfkc_array(arr))
    # Drop junk first so that "3 - 5" collapses to one dash below.
    arr = pc.replace_substring_regex(arr, r"[^\p{L}\p{N}\p{Pd}~#]+", "")
    return pc.replace_substring_regex(arr, r"[\p{Pd}~]+", "-")


def _normalise_text(arr: pa.Array) -> pa.Array:
    """Steps 1–5: the ``address_norm`` string."""
    arr = _where(arr, _MAY_CHANGE_IN_STEPS_1_2, _steps_1_2)
    arr = to_simplified_array(arr)
    needs = pc.match_substring_regex(arr, _RE2_NEEDS_NUMERALS)
    arr = map_rows_where(arr, needs, convert_unit_numerals)
    for trigger, pattern, repl in _UNIT_RULES:
        arr = _where(arr, trigger, partial(pc.replace_substring_regex, pattern=pattern, replacement=repl))
    return empty_to_null(pc.utf8_trim(arr, "-"))


def _where(arr: pa.Array, trigger: str, fn: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """``fn`` (column -> column, leaving a value that does not match the RE2 ``trigger`` as it
    is) run on only the values that match ``trigger``."""
    mask = pc.fill_null(pc.match_substring_regex(arr, trigger), False)
    idx = pc.indices_nonzero(mask)
    if len(idx) == 0:
        return arr
    if len(idx) > len(arr) // 2:  # most rows: not worth the take/scatter
        return fn(arr)
    return pc.replace_with_mask(arr, mask, fn(pc.take(arr, idx)))


def _coalesce(*arrs: pa.Array) -> pa.Array:
    return pc.coalesce(*[empty_to_null(a) for a in arrs])


def _fields(struct: pa.Array) -> dict[str, pa.Array]:
    return {struct.type.field(i).name: struct.field(i) for i in range(struct.type.num_fields)}


def _split_county_from_road(road: pa.Array, pats: dict[str, str]) -> tuple[pa.Array, pa.Array]:
    """(road without a leading short county name, that county name or null)."""
    m = _fields(pc.extract_regex(road, pats["road_county"]))
    rem = empty_to_null(m["road"])
    ok = pc.fill_null(pc.invert(pc.match_substring_regex(rem, pats["road_own_tail"])), False)
    county = pc.if_else(ok, m["county"], pa.scalar(None, pa.string()))
    return pc.if_else(ok, rem, road), county


def _drop_prefix(s: pa.Array, prefix: pa.Array) -> pa.Array:
    """``s[len(prefix):]`` per row, where ``prefix`` is a prefix of ``s``.
    Arrow's slice takes a scalar start, but admin prefixes have few distinct
    lengths: one slice per length."""
    plen = pc.fill_null(pc.utf8_length(prefix), 0)
    out = s
    for k in pc.unique(plen).to_pylist():
        if k:
            mask = pc.equal(plen, k)
            out = pc.replace_with_mask(out, mask, pc.utf8_slice_codeunits(pc.filter(s, mask), k))
    return out


def _parse(norm: pa.Array) -> dict[str, pa.Array]:
    pats = _patterns()
    # 1. admin prefix candidates (cheap pattern), parsed once per distinct value
    cand = pc.extract_regex(norm, "^(?P<admin>" + pats["scan"] + ")").field("admin")
    # Rows starting with a short name where the cheap scan found nothing but
    # short names (广州天河北路…: no 省/市/区 to stop at) need the scan that
    # knows short names; they are few: it runs on them only.
    short = pc.and_(
        pc.fill_null(pc.match_substring_regex(norm, "^(?:" + pats["short"] + ")"), False),
        pc.fill_null(pc.match_substring_regex(cand, pats["only_short"]), False),
    )
    if pc.any(short).as_py():
        idx = pc.indices_nonzero(short)
        sub = pc.extract_regex(pc.take(norm, idx), "^(?P<admin>" + pats["scan_short"] + ")").field("admin")
        cand = pc.replace_with_mask(cand, short, sub)
    after = _drop_prefix(norm, cand)
    enc = pc.dictionary_encode(cand)
    admin = _fields(pc.extract_regex(enc.dictionary, pats["admin"]))
    f = {k: pc.take(v, enc.indices) for k, v in admin.items()}
    # 2. the body: what the admin pattern gave back + everything after it
    body = pc.binary_join_element_wise(f.pop("guard"), f.pop("rest"), after, "")
    # Values that are nothing but short names (广东番禺, 广州天河: hukou places)
    # are all admin, no body.
    whole = pc.fill_null(pc.match_substring_regex(norm, pats["short_only_value"]), False)
    if pc.any(whole).as_py():
        idx = pc.indices_nonzero(whole)
        sub = _fields(pc.extract_regex(pc.take(norm, idx), pats["short_only_value"]))
        for name in ("province_s2", "city_s2"):
            f[name] = pc.replace_with_mask(f[name], whole, sub[name])
        f["district_s2"] = pc.replace_with_mask(pa.nulls(len(norm), pa.string()), whole, sub["district_s2"])
        body = pc.if_else(whole, pa.scalar(""), body)
    else:
        f["district_s2"] = pa.nulls(len(norm), pa.string())
    f.update(_fields(pc.extract_regex(body, pats["body"])))

    province = _coalesce(f["province"], f["province_s"], f["province_ms"], f["province_s2"])
    city = _coalesce(f["city"], f["city_ps"], f["city_s"], f["city_s2"])
    district = _coalesce(f["district_ms"], f["district_cs"], f["district"], f["district_s2"])

    road_name = empty_to_null(f["road"])
    road_dir = pc.coalesce(empty_to_null(f["road_dir"]), empty_to_null(f["road_dir2"]), pa.scalar(""))
    road = pc.binary_join_element_wise(road_name, road_dir, "")
    road, county_from_road = _split_county_from_road(road, pats)

    lane = empty_to_null(f["lane"])
    lane_door = pc.binary_join_element_wise(lane, pa.scalar("弄"), pc.fill_null(f["lane_door"], ""), "")
    door = pc.coalesce(lane_door, empty_to_null(f["door_number"]))

    building = _coalesce(f["building"], f["dash_b3"], f["dash_b2"])
    unit = _coalesce(f["unit"], f["dash_u3"])
    floor = empty_to_null(f["floor"])

    # 15楼02 → 1502; 15楼1502 → 1502; 5楼3 → 503.
    floor_room = empty_to_null(f["floor_room"])
    fr_starts = pc.fill_null(
        pc.and_(
            _startswith_elementwise(floor_room, floor),
            pc.greater(pc.utf8_length(floor_room), pc.utf8_length(floor)),
        ),
        False,
    )
    padded = pc.binary_join_element_wise(floor, pc.utf8_lpad(floor_room, 2, "0"), "")
    room_from_floor = pc.if_else(fr_starts, floor_room, padded)
    room = pc.coalesce(
        empty_to_null(f["room"]),
        empty_to_null(f["room_end"]),
        room_from_floor,
        empty_to_null(f["dash_r3"]),
        empty_to_null(f["dash_r2"]),
    )
    estate = empty_to_null(f["estate"])

    # --- key ---------------------------------------------------------------
    slot_road = pc.coalesce(road, pc.binary_join_element_wise(pa.scalar("@"), estate, ""))
    slot_room = pc.coalesce(room, pc.binary_join_element_wise(pa.scalar("F"), floor, ""))
    has_id = pc.or_(pc.or_(pc.is_valid(door), pc.is_valid(building)), pc.is_valid(slot_room))
    key = pc.binary_join_element_wise(
        *[pc.fill_null(x, "") for x in (slot_road, door, building, slot_room)], "|"
    )
    key = pc.if_else(pc.and_(pc.is_valid(slot_road), has_id), key, pa.scalar(None, pa.string()))

    return {
        "province": _full_names(province),
        "city": _full_names(city),
        "district": _full_names(pc.coalesce(district, county_from_road)),
        "street": empty_to_null(f["street"]),
        "community": empty_to_null(f["community"]),
        "road": road,
        "door_number": door,
        "estate": estate,
        "building": building,
        "unit": unit,
        "floor": floor,
        "room": room,
        "address_key": key,
    }


@lru_cache(maxsize=1)
def _short_to_full() -> dict[str, str]:
    """Short division names written without their suffix → the full name
    (广东 → 广东省, 广州 → 广州市, 天河 → 天河区), for the divisions in the table."""
    out: dict[str, str] = {}
    for r in divisions():
        name = r["name"]
        short = _short(name) if r["level"] != "county" else _county_short(name)
        if r["level"] == "prefecture":
            short = name[:-1] if name.endswith("市") else None
        if short and short != name and short not in AMBIGUOUS_SHORT_NAMES:
            out.setdefault(short, name)
    return out


def _full_names(arr: pa.Array) -> pa.Array:
    """Replace known short names by the full division name (per distinct value)."""
    enc = pc.dictionary_encode(arr)
    table = _short_to_full()
    names = [table.get(v, v) for v in enc.dictionary.to_pylist()]
    return pc.take(pa.array(names, pa.string()), enc.indices)


def _startswith_elementwise(s: pa.Array, prefix: pa.Array, max_len: int = 4) -> pa.Array:
    """Element-wise ``s.startswith(prefix)`` (Arrow's ``starts_with`` takes a
    scalar pattern).  ``prefix`` is a floor number: at most ``max_len``
    characters, so a small loop over its possible lengths suffices."""
    plen = pc.utf8_length(prefix)
    result = pa.nulls(len(s), pa.bool_())
    for k in range(1, max_len + 1):
        hit = pc.and_(pc.equal(plen, k), pc.equal(pc.utf8_slice_codeunits(s, 0, k), prefix))
        result = pc.if_else(pc.equal(plen, k), hit, result)
    return result


def _process(arr: pa.Array) -> dict[str, pa.Array]:
    norm = _normalise_text(arr)
    parts = _parse(norm)
    return {"address_norm": norm, **parts}


def normalise_addresses(values: pd.Series) -> pd.DataFrame:
    """Standardise a column of addresses; see the module docstring."""
    cols = run_chunked(_process, as_arrow_strings(values), ADDRESS_COLUMNS)
    return to_frame(cols, values.index)


def normalise_address(s: Any) -> dict[str, Any]:
    """Scalar form of :func:`normalise_addresses` (same code path)."""
    row = normalise_addresses(pd.Series([s], dtype=object)).iloc[0]
    return {k: (None if pd.isna(v) else str(v)) for k, v in row.items()}
