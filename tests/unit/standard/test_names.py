"""Name standardisation: display form, key, pinyin, near-homophone folding."""

import math

import numpy as np
import pandas as pd
import pytest

from shiyou.standard.names import NAME_COLUMNS, fold_syllable, normalise_name, normalise_names

# --- name_norm: spaces, full-width, separators; characters as delivered ---------

NORM_CASES = [
    ("张伟", "张伟"),
    ("张 伟", "张伟"),
    ("张\u3000伟", "张伟"),  # ideographic space
    (" 张伟 ", "张伟"),
    ("张\u200b伟", "张伟"),  # zero-width space
    ("張偉", "張偉"),  # NOT simplified: t2s is lossy for names
    ("阿卜杜拉·艾合买提", "阿卜杜拉·艾合买提"),
    ("阿卜杜拉•艾合买提", "阿卜杜拉·艾合买提"),  # U+2022
    ("阿卜杜拉・艾合买提", "阿卜杜拉·艾合买提"),  # U+30FB
    ("阿卜杜拉‧艾合买提", "阿卜杜拉·艾合买提"),  # U+2027
    ("阿卜杜拉.艾合买提", "阿卜杜拉·艾合买提"),
    ("阿卜杜拉．艾合买提", "阿卜杜拉·艾合买提"),  # full-width full stop
    ("阿卜杜拉﹒艾合买提", "阿卜杜拉·艾合买提"),  # small full stop
    ("阿卜杜拉。艾合买提", "阿卜杜拉·艾合买提"),  # IME full stop
    ("阿卜杜拉-艾合买提", "阿卜杜拉·艾合买提"),
    ("阿卜杜拉 · 艾合买提", "阿卜杜拉·艾合买提"),
    ("阿卜杜拉··艾合买提", "阿卜杜拉·艾合买提"),  # doubled separator collapses
    ("·张伟·", "张伟"),  # leading / trailing separator dropped
    ("ｊｏｈｎ  ｓｍｉｔｈ", "JOHN SMITH"),  # Latin: NFKC, upper, one space kept
]


@pytest.mark.parametrize(("raw", "expected"), NORM_CASES)
def test_name_norm(raw, expected):
    assert normalise_name(raw)["name_norm"] == expected


# --- name_key: simplified, separators and non-letters removed ------------------------

KEY_CASES = [
    ("張偉", "张伟"),
    ("张 伟", "张伟"),
    ("劉德華", "刘德华"),
    ("阿卜杜拉·艾合买提", "阿卜杜拉艾合买提"),
    ("阿卜杜拉•艾合买提", "阿卜杜拉艾合买提"),
    ("阿卜杜拉艾合买提", "阿卜杜拉艾合买提"),  # no separator at all: same key
    ("张伟*", "张伟"),  # registry flag characters are not part of the key
    ("张伟2", "张伟"),
    ("John Smith", "JOHNSMITH"),
]


@pytest.mark.parametrize(("raw", "expected"), KEY_CASES)
def test_name_key(raw, expected):
    assert normalise_name(raw)["name_key"] == expected


# --- pinyin and surname readings ------------------------------------------------------

PINYIN_CASES = [
    ("张伟", "zhang wei"),
    ("張偉", "zhang wei"),
    ("单田芳", "shan tian fang"),  # default reading would be dan
    ("曾志伟", "zeng zhi wei"),  # default ceng
    ("解小东", "xie xiao dong"),  # default jie
    ("仇英", "qiu ying"),  # default chou
    ("区志明", "ou zhi ming"),  # default qu
    ("朴正熙", "piao zheng xi"),  # default pu
    ("查良镛", "zha liang yong"),  # default cha
    ("盖丽丽", "ge li li"),  # default gai
    ("缪斯", "miao si"),  # default mou
    ("乐嘉", "yue jia"),  # default le
    ("尉迟恭", "yu chi gong"),  # compound surname
    ("欧阳娜娜", "ou yang na na"),
    ("吕布", "lv bu"),  # ü written v
    ("阿卜杜拉·艾合买提", "a bo du la ai he mai ti"),  # no surname override for minority names
    ("John Smith", "johnsmith"),
]


@pytest.mark.parametrize(("raw", "expected"), PINYIN_CASES)
def test_name_pinyin(raw, expected):
    assert normalise_name(raw)["name_pinyin"] == expected


def test_surname_override_applies_only_to_the_first_character():
    # 单 inside the given name keeps its ordinary reading
    assert normalise_name("张单")["name_pinyin"] == "zhang dan"
    assert normalise_name("单单")["name_pinyin"] == "shan dan"


SURNAME_CASES = [
    ("张伟", "张", False),
    ("張偉", "张", False),  # surname of the key (simplified)
    ("欧阳娜娜", "欧阳", False),
    ("尉迟恭", "尉迟", False),
    ("司马光", "司马", False),
    ("欧阳", "欧", False),  # two characters: 欧 + given name 阳
    ("阿卜杜拉·艾合买提", None, True),
    ("阿卜杜拉艾合买提", None, True),  # long transliteration without separator
    ("爱新觉罗溥仪", None, True),
    ("张李明华", "张", False),  # 4 Han characters: still a Han name
    ("John Smith", None, False),
]


@pytest.mark.parametrize(("raw", "surname", "minority"), SURNAME_CASES)
def test_surname_and_minority(raw, surname, minority):
    out = normalise_name(raw)
    assert out["name_surname"] == surname
    assert out["name_is_minority"] is minority


# --- near-homophone folding -------------------------------------------------------

FOLD_PAIRS = [
    ("刘德华", "牛德华"),  # n → l: liu / niu
    ("宁静", "玲静"),  # n → l and ing → in: ning / ling
    ("张伟", "赞伟"),  # zh → z, ang → an
    ("陈晨", "岑晨"),  # ch → c, en / eng not involved
    ("沈冰", "森冰"),  # sh → s
    ("程明", "岑明"),  # ch → c, eng → en
    ("王芳", "万芳"),  # ang → an
    ("黄兰", "环兰"),  # uang → uan
]


@pytest.mark.parametrize(("a", "b"), FOLD_PAIRS)
def test_near_homophones_share_fuzzy_pinyin(a, b):
    na, nb = normalise_name(a), normalise_name(b)
    assert na["name_pinyin"] != nb["name_pinyin"]
    assert na["name_pinyin_fuzzy"] == nb["name_pinyin_fuzzy"]


FUZZY_CASES = [
    ("刘德华", "liu de hua"),
    ("牛德华", "liu de hua"),
    ("宁静", "lin jin"),
    ("玲静", "lin jin"),
    ("张伟", "zan wei"),
    ("单田芳", "san tian fan"),  # fold applies to the surname reading too
]


@pytest.mark.parametrize(("raw", "expected"), FUZZY_CASES)
def test_name_pinyin_fuzzy(raw, expected):
    assert normalise_name(raw)["name_pinyin_fuzzy"] == expected


NOT_FOLDED = [
    ("荣", "龙"),  # r / l is not folded
    ("方", "黄"),  # f / h is not folded
    ("红", "韩"),  # ong is not folded
]


@pytest.mark.parametrize(("a", "b"), NOT_FOLDED)
def test_conservative_folding(a, b):
    assert normalise_name("李" + a)["name_pinyin_fuzzy"] != normalise_name("李" + b)["name_pinyin_fuzzy"]


@pytest.mark.parametrize(
    ("syl", "folded"),
    [("zhang", "zan"), ("chong", "cong"), ("shi", "si"), ("niu", "liu"), ("ning", "lin"), ("neng", "len"),
     ("liang", "lian"), ("huang", "huan"), ("n", "n"), ("ng", "ng"), ("rong", "rong"), ("lv", "lv"), ("nv", "lv")],
)  # fmt: skip
def test_fold_syllable(syl, folded):
    assert fold_syllable(syl) == folded


# --- nulls, shape, vectorised == scalar ----------------------------------------------

@pytest.mark.parametrize("raw", [None, float("nan"), "", "   ", "\u3000", "·", "123", np.nan])
def test_empty_inputs_give_all_null_rows(raw):
    out = normalise_name(raw)
    assert set(out) == set(NAME_COLUMNS)
    assert all(v is None for v in out.values())


def test_frame_shape_index_and_dtypes():
    s = pd.Series(["張偉", None, "阿卜杜拉·艾合买提"], index=[10, 20, 30])
    df = normalise_names(s)
    assert list(df.columns) == NAME_COLUMNS
    assert list(df.index) == [10, 20, 30]
    assert df.loc[20].isna().all()
    assert df["name_is_minority"].dtype == "boolean"
    assert df.loc[10, "name_norm"] == "張偉" and df.loc[10, "name_key"] == "张伟"


def test_accepts_arrow_backed_strings():
    s = pd.Series(["張偉", None], dtype=pd.StringDtype("pyarrow"))
    assert normalise_names(s)["name_key"].tolist()[0] == "张伟"


def _sample(n=400, seed=7):
    rng = np.random.default_rng(seed)
    sur = list("王李张刘陈单曾區張欧") + ["欧阳", "尉迟"]
    giv = list("伟芳娜敏静丽强偉麗宁玲") + ["", " ", "·阿依"]
    out = [rng.choice(sur) + rng.choice(giv) + rng.choice(giv) for _ in range(n)]
    return out + [None, "", "JOHN SMITH", "阿卜杜拉•艾合买提"]


def test_vectorised_equals_scalar_on_a_sample():
    sample = _sample()
    df = normalise_names(pd.Series(sample, dtype=object))
    for i, raw in enumerate(sample):
        row = {k: (None if pd.isna(v) else v) for k, v in df.iloc[i].items()}
        row["name_is_minority"] = None if row["name_is_minority"] is None else bool(row["name_is_minority"])
        assert row == normalise_name(raw), raw


def test_result_does_not_depend_on_batch_composition():
    sample = _sample()
    whole = normalise_names(pd.Series(sample, dtype=object))
    half = normalise_names(pd.Series(sample[::2], dtype=object))
    pd.testing.assert_frame_equal(whole.iloc[::2].reset_index(drop=True), half.reset_index(drop=True))


def test_no_nan_floats_leak_into_scalar_output():
    out = normalise_name("张伟")
    assert not any(isinstance(v, float) and math.isnan(v) for v in out.values())


def test_threaded_and_single_thread_results_agree(monkeypatch):
    from shiyou.standard import chinese

    s = pd.Series(_sample(seed=5), dtype=object)
    single = normalise_names(s)
    monkeypatch.setattr(chinese, "PARALLEL_MIN_ROWS", 10)
    pd.testing.assert_frame_equal(single, normalise_names(s))
