"""Shared Chinese-text helpers: NFKC gaps, t2s char map, numerals."""

import time
import unicodedata

import pyarrow as pa
import pytest

from shiyou.standard import chinese

# --- NFKC and what it does NOT do ------------------------------------------------

NFKC_CASES = [
    ("２３３", "233"),  # full-width digits
    ("ＡＢｃ", "ABc"),  # full-width letters
    ("张\u3000伟", "张 伟"),  # ideographic space becomes a plain space
    ("．", "."),  # NFKC folds U+FF0E …
    ("﹒", "."),  # … and U+FE52
    ("\u00b7", "\u00b7"),  # … but not the middle dots: they need explicit mapping
    ("\u2022", "\u2022"),
    ("\u30fb", "\u30fb"),
    ("\u2027", "\u2027"),
]


@pytest.mark.parametrize(("raw", "expected"), NFKC_CASES)
def test_nfkc_scalar_and_array(raw, expected):
    assert chinese.nfkc(raw) == expected
    assert chinese.nfkc_array(pa.array([raw])).to_pylist() == [expected]


def test_every_middle_dot_is_a_name_separator():
    for c in "\u00b7\u2022\u30fb\u2027.-\u3002":
        assert c in chinese.NAME_SEPARATORS


# --- traditional → simplified -----------------------------------------------------

T2S_CASES = [
    ("張偉", "张伟"),
    ("陳", "陈"),
    ("劉", "刘"),
    ("號", "号"),
    ("棟", "栋"),
    ("樓", "楼"),
    ("單元", "单元"),
    ("廣場", "广场"),
    ("閆", "闫"),  # 閆 and 閻 are two different surnames and stay different
    ("閻", "阎"),
    ("张伟", "张伟"),  # already simplified: unchanged
    ("三里屯", "三里屯"),
]


@pytest.mark.parametrize(("trad", "simp"), T2S_CASES)
def test_to_simplified(trad, simp):
    assert chinese.to_simplified(trad) == simp
    assert chinese.to_simplified_array(pa.array([trad, None])).to_pylist() == [simp, None]


def test_t2s_map_is_char_to_char_and_cached():
    m = chinese.t2s_char_map()
    assert len(m) > 3000
    assert all(len(v) == 1 for v in m.values())
    assert chinese.t2s_char_map() is m  # lru_cache: built once


def test_t2s_map_builds_in_under_a_second():
    chinese.t2s_char_map.cache_clear()
    chinese.t2s_table.cache_clear()
    chinese.re2_traditional_class.cache_clear()
    t = time.perf_counter()
    chinese.t2s_char_map()
    assert time.perf_counter() - t < 1.0


def test_traditional_class_flags_exactly_the_mapped_rows():
    import pyarrow.compute as pc

    arr = pa.array(["張偉", "张伟", "天河北路233號", "天河北路233号", None])
    got = pc.match_substring_regex(arr, chinese.re2_traditional_class()).to_pylist()
    assert got == [True, False, True, False, None]


# --- Chinese numerals -----------------------------------------------------------

NUMERAL_CASES = [
    ("三", "3"),
    ("十", "10"),
    ("十五", "15"),
    ("二十", "20"),
    ("二十一", "21"),
    ("一百零五", "105"),
    ("一千五百零二", "1502"),
    ("一五零二", "1502"),  # digit by digit
    ("一五〇二", "1502"),
    ("零二", "02"),  # leading zero kept (room numbers)
    ("两", "2"),
    ("廿一", "21"),
    ("叁拾", "30"),  # financial forms
    ("", None),
    ("三里", None),  # not a numeral
]


@pytest.mark.parametrize(("text", "expected"), NUMERAL_CASES)
def test_parse_chinese_numeral(text, expected):
    assert chinese.parse_chinese_numeral(text) == expected


def test_blanket_numeral_conversion_is_available_but_blanket():
    # The helper converts every run; addresses restrict it to unit words.
    assert chinese.chinese_numerals_to_arabic("三栋十五楼") == "3栋15楼"


def test_map_rows_where_touches_only_masked_rows():
    arr = pa.array(["a", "b", None, "c"])
    mask = pa.array([True, False, True, None])
    assert chinese.map_rows_where(arr, mask, str.upper).to_pylist() == ["A", "b", None, "c"]


def test_separators_survive_nfkc_and_are_distinct_code_points():
    for c in "\u00b7\u2022\u30fb\u2027":
        assert unicodedata.normalize("NFKC", c) == c
