"""Address standardisation: normalised string, parts, flat key."""

import numpy as np
import pandas as pd
import pytest

from shiyou.standard import addresses, chinese
from shiyou.standard.addresses import ADDRESS_COLUMNS, normalise_address, normalise_addresses

# --- equality classes: every spelling of one flat shares address_key --------------------

SAME_FLAT = [
    [
        "广东省广州市天河区林和街道天河北路233号中信广场3栋1502房",
        "天河区天河北路233号中信广场三栋1502室",
        "天河北路233号3座1502",
        "天河北路２３３號３幢１５０２室",
        "天河北路233号3栋15楼02",
        "天河北路 233 号 3 栋 1502 室",
        "天河北路233号三号楼一五零二室",
        "天河北路233号第三栋1502",
        "天河北路233号3#1502",
        "天河北路233号3-1502",
        "天河北路233號（中信廣場）３棟１５０２房",
        "广东广州天河区天河北路233号3栋1502",
        "广州天河北路233号3栋1502室",
        "天河北路233号3栋十五楼零二",
        "天河北路233号3栋1502号",
    ],
    [
        "北京市朝阳区三里屯路19号院3号楼2单元501",
        "三里屯路19号3栋2单元501室",
        "三里屯路十九号三栋二单元五零一",
        "三里屯路19号3-2-501",
    ],
    [
        "上海市黄浦区长乐路123弄5号602室",
        "长乐路123弄5号602",
    ],
]


@pytest.mark.parametrize("spellings", SAME_FLAT, ids=lambda s: s[0])
def test_spellings_of_one_flat_share_the_key(spellings):
    keys = normalise_addresses(pd.Series(spellings))["address_key"].tolist()
    assert keys[0] is not None and keys[0] is not pd.NA
    assert keys == [keys[0]] * len(keys), list(zip(spellings, keys))


DIFFERENT_FLATS = [
    ("天河北路233号3栋1502室", "天河北路233号3栋1503室"),
    ("天河北路233号3栋1502室", "天河北路233号4栋1502室"),
    ("天河北路233号3栋1502室", "天河北路235号3栋1502室"),
    ("天河北路233号3栋1502室", "天河南路233号3栋1502室"),
]


@pytest.mark.parametrize(("a", "b"), DIFFERENT_FLATS)
def test_different_flats_have_different_keys(a, b):
    assert normalise_address(a)["address_key"] != normalise_address(b)["address_key"]


# --- address_norm rules ---------------------------------------------------------

NORM_CASES = [
    ("天河北路２３３號", "天河北路233号"),  # full width + traditional
    ("天河北路 233 号", "天河北路233号"),  # spaces
    ("天河北路\u3000233号", "天河北路233号"),  # ideographic space
    ("三里屯路19号", "三里屯路19号"),  # 三里屯 is a place name: never converted
    ("三里屯路十九号", "三里屯路19号"),  # the numeral next to 号 is
    ("中山一路5号", "中山一路5号"),  # 一路 is not a unit word
    ("五羊新城三栋", "五羊新城3栋"),
    ("万科城第三期十二栋", "万科城3期12栋"),
    ("3座", "3栋"),
    ("3幢", "3栋"),
    ("3号楼", "3栋"),
    ("A座1201", "A栋1201"),
    ("1502房", "1502室"),
    ("1502号房", "1502室"),
    ("十五楼零二", "15楼02"),
    ("二单元", "2单元"),
    ("厨房", "厨房"),  # 房 without a number is left alone
    ("233—235号", "233-235号"),  # dash variants
    ("天河北路233号(中信广场)", "天河北路233号中信广场"),
]


@pytest.mark.parametrize(("raw", "expected"), NORM_CASES)
def test_address_norm(raw, expected):
    assert normalise_address(raw)["address_norm"] == expected


# --- parts -----------------------------------------------------------------------

FULL = "广东省广州市天河区林和街道天河北路233号中信广场3栋1502房"

PART_CASES = [
    (FULL, dict(province="广东省", city="广州市", district="天河区", street="林和街道", road="天河北路",
                door_number="233", estate="中信广场", building="3", unit=None, floor=None, room="1502")),
    ("广州市番禺区市桥街道桥东路5号金碧小区A座1203",
     dict(city="广州市", district="番禺区", street="市桥街道", road="桥东路", door_number="5",
          estate="金碧小区", building="A", room="1203")),
    ("北京市朝阳区三里屯路19号院3号楼2单元501",
     dict(province="北京市", district="朝阳区", road="三里屯路", door_number="19", building="3", unit="2",
          room="501")),
    ("天河区林和街道林和社区天河北路233号",
     dict(district="天河区", street="林和街道", community="林和社区", road="天河北路", door_number="233")),
    ("中山大道西89号华景新城12栋15楼02",
     dict(road="中山大道西", door_number="89", estate="华景新城", building="12", floor="15", room="1502")),
    ("天河北路233号3栋15楼1502", dict(floor="15", room="1502")),  # room already carries the floor
    ("天河北路233号3栋5楼3", dict(floor="5", room="503")),
    ("天河北路233号3栋15楼", dict(building="3", floor="15", room=None)),
    ("上海市黄浦区长乐路123弄5号602室", dict(province="上海市", district="黄浦区", road="长乐路",
                                            door_number="123弄5", room="602")),
    ("员村二横路3号3-2-1502", dict(road="员村二横路", door_number="3", building="3", unit="2", room="1502")),
    ("大石街道大石村三巷5号", dict(street="大石街道", road="大石村三巷", door_number="5")),
    ("广州市天河区元岗街道元岗村东坊30巷16号101室",
     dict(street="元岗街道", road="元岗村东坊30巷", door_number="16", room="101")),
    ("广州天河车陂村东街3巷12号", dict(city="广州市", district="天河区", road="车陂村东街3巷", door_number="12")),
    # a short county name glued to the road is split off, unless the rest is
    # only a direction/ordinal + suffix (天河北路, 天河南二路 are roads)
    ("广州天河天河路385号", dict(city="广州市", district="天河区", road="天河路", door_number="385")),
    ("广州天河华夏路10号", dict(district="天河区", road="华夏路")),
    ("广州天河天河北路233号", dict(district="天河区", road="天河北路")),
    ("天河北路233号", dict(district=None, road="天河北路")),
    ("天河南二路3号", dict(district=None, road="天河南二路")),
    ("黄埔大道西1号", dict(district=None, road="黄埔大道西")),
    ("广州天河广州大道北1号", dict(city="广州市", district="天河区", road="广州大道北")),
    ("广州天河城广场3楼", dict(road=None, estate="天河城广场", floor="3")),  # a landmark, not 天河 + 城广场
    ("中信广场2期3栋1502室", dict(road=None, estate="中信广场2期", building="3", room="1502")),
    ("金碧小区3栋101", dict(district=None, estate="金碧小区", building="3", room="101")),  # 小区 is no district
    ("广州大道中1号", dict(city=None, road="广州大道中", door_number="1")),  # the road, not the city
    ("广州北京路1号", dict(city="广州市", road="北京路", door_number="1")),
    ("广州起义路1号", dict(city="广州市", road="起义路")),
    # a short city name followed by a road suffix is part of the road
    ("南京东路5号", dict(city=None, road="南京东路")),
    ("南京路5号", dict(city=None, road="南京路")),
    # 中山 / 东莞 are never read as short city names (中山X路 is in every city)
    ("中山南路1号", dict(city=None, road="中山南路")),
    ("中山一路1号", dict(city=None, road="中山一路")),
    ("东莞庄一横路3号", dict(city=None, road="东莞庄一横路", door_number="3")),
    ("广州市中山一路1号", dict(city="广州市", road="中山一路")),
    ("北京朝阳区三里屯路19号", dict(province="北京市", city=None, district="朝阳区", road="三里屯路")),
    ("江门市台山市台城街道环市路1号", dict(city="江门市", district="台山市", street="台城街道", road="环市路")),
    ("广东省广州市", dict(province="广东省", city="广州市", road=None, room=None)),
    # hukou places: often only the divisions, in full or short
    ("贵州省黔东南苗族侗族自治州黎平县新华镇石桥村2组",
     dict(province="贵州省", city="黔东南苗族侗族自治州", district="黎平县", street="新华镇", estate="石桥村")),
    ("广西壮族自治区柳州市三江侗族自治县", dict(province="广西壮族自治区", city="柳州市", district="三江侗族自治县")),
    # short names are reported by their full name from the division table
    ("广东番禺", dict(province="广东省", city=None, district="番禺区", estate=None)),
    ("广州天河", dict(city="广州市", district="天河区", estate=None)),
]


@pytest.mark.parametrize(("raw", "parts"), PART_CASES, ids=[c[0] for c in PART_CASES])
def test_parts(raw, parts):
    out = normalise_address(raw)
    assert {k: out[k] for k in parts} == parts


KEY_CASES = [
    (FULL, "天河北路|233|3|1502"),
    ("天河北路233号3栋15楼", "天河北路|233|3|F15"),  # floor only: marked F
    ("中信广场3栋1502室", "@中信广场||3|1502"),  # no road: the estate takes its place
    ("元岗村东坊30巷16号101室", "元岗村东坊30巷|16||101"),  # urban-village lane address
    ("广东省广州市天河区", None),  # no road, no estate
    ("天河北路", None),  # a road alone does not identify a flat
    ("中信广场", None),
]


@pytest.mark.parametrize(("raw", "key"), KEY_CASES)
def test_address_key(raw, key):
    assert normalise_address(raw)["address_key"] == key


def test_unit_is_a_part_but_not_in_the_key():
    # Sources drop the unit all the time; the key must survive that, and the
    # part stays for the matcher to compare when both records carry it.
    a, b, c = (normalise_address(x) for x in ("三里屯路19号3栋2单元501", "三里屯路19号3栋501", "三里屯路19号3栋1单元501"))
    assert a["address_key"] == b["address_key"] == c["address_key"] == "三里屯路|19|3|501"
    assert (a["unit"], b["unit"], c["unit"]) == ("2", None, "1")


@pytest.mark.parametrize("raw", [None, float("nan"), "", "   ", "（）"])
def test_empty_inputs_give_all_null_rows(raw):
    out = normalise_address(raw)
    assert set(out) == set(ADDRESS_COLUMNS)
    assert all(v is None for v in out.values())


def test_frame_shape_index_and_dtypes():
    s = pd.Series([FULL, None], index=["a", "b"])
    df = normalise_addresses(s)
    assert list(df.columns) == ADDRESS_COLUMNS
    assert list(df.index) == ["a", "b"]
    assert df.loc["b"].isna().all()
    assert all(str(t) == "string" for t in df.dtypes)


# --- vectorised == scalar, on the threaded path too -------------------------------

def _sample(n=300, seed=11):
    rng = np.random.default_rng(seed)
    prefixes = ["", "天河区", "广州市天河区", "广东省广州市天河区林和街道", "广东广州", "广州"]
    roads = ["天河北路", "中山大道西", "體育西路", "广州大道中", "员村二横路"]
    estates = ["", "中信广场", "金碧小区", "SOHO东海岸", "华景新城2期"]
    blds = ["3栋", "三栋", "3座", "B座", "3号楼", "十二幢", ""]
    rooms = ["1502室", "1502房", "1502", "15楼02", "十五楼零二", "2单元501", "-1502", ""]
    out = [
        f"{rng.choice(prefixes)}{rng.choice(roads)}{rng.integers(1, 400)}号{rng.choice(estates)}"
        f"{rng.choice(blds)}{rng.choice(rooms)}"
        for _ in range(n)
    ]
    return out + [None, "", "三里屯", "中信广场3栋1502室"]


def test_vectorised_equals_scalar_on_a_sample(monkeypatch):
    sample = _sample()
    monkeypatch.setattr(chinese, "PARALLEL_MIN_ROWS", 10)  # exercise the two-thread path
    df = normalise_addresses(pd.Series(sample, dtype=object))
    for i, raw in enumerate(sample):
        row = {k: (None if pd.isna(v) else v) for k, v in df.iloc[i].items()}
        assert row == normalise_address(raw), raw


def test_threaded_and_single_thread_results_agree(monkeypatch):
    s = pd.Series(_sample(seed=3), dtype=object)
    single = normalise_addresses(s)
    monkeypatch.setattr(chinese, "PARALLEL_MIN_ROWS", 10)
    pd.testing.assert_frame_equal(single, normalise_addresses(s))


def test_convert_unit_numerals_scalar():
    assert addresses.convert_unit_numerals("三里屯路十九号三栋") == "三里屯路19号3栋"
    assert addresses.convert_unit_numerals("第三期") == "3期"


def test_values_left_out_of_the_first_steps_are_those_the_steps_would_not_change(monkeypatch):
    """Steps 1–2 (NFKC, upper-casing, junk and dash clean-up) run only on values holding a
    character outside CJK unified ideographs, ASCII digits and capitals: the result must be the
    one every value going through them gives, for the characters those steps do change."""
    import pyarrow as pa

    from shiyou.standard import addresses

    changed_by_steps = ["天河路１２号", "天河路12号ａ座", "\uf900园3栋", "中山一路①号", "㈠期5栋", "Ⅲ区3栋",
                        "天河路 12 号", "天河路12号3-2-1502", "天河路—12号", "3#1502", "soho东海岸",
                        "天河路\u300012号", "天河路12号\u200b", "çà路5号", "3--2--1502"]
    plain = [f"天河路{n}号{n % 7}栋{n % 5 + 1}单元{n + 100}" for n in range(3 * len(changed_by_steps))]
    values = pa.array(changed_by_steps + plain + [None, ""], pa.string())
    shortcut = addresses._normalise_text(values).to_pylist()
    monkeypatch.setattr(addresses, "_MAY_CHANGE_IN_STEPS_1_2", ".")  # every value through the steps
    assert shortcut == addresses._normalise_text(values).to_pylist()
    assert shortcut[:3] == ["天河路12号", "天河路12号A栋", "岂园3栋"]  # U+F900 → 豈 (U+8C48) → 岂
