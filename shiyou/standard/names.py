"""Person-name standardisation: display form, matching key, pinyin.

``normalise_names`` works on a whole column (the pipeline passes the
DISTINCT raw names and joins back).  The heavy lifting is pyarrow.compute
(C++ / RE2); Python only translates the distinct *given names* through a
per-character pinyin table (never ``lazy_pinyin`` per name).

Columns produced (one row per input row, same index):

``name_norm``
    NFKC; whitespace, zero-width characters and controls removed; every
    minority-name separator unified to ``·`` (U+00B7); runs of separators
    collapsed, leading/trailing ones dropped.  Characters as delivered: NOT
    converted to simplified (t2s is lossy for names: 於→于, 乾→干).
    Separators are ``· • ・ ‧ ∙ ⋅ ● . 。 -`` and dash variants (a typist who
    cannot find the middle dot uses a full stop or a hyphen).  Names with
    Latin or other non-Han letters (passports) are upper-cased, keep single
    spaces between words and keep ``.``/``-`` as delivered.
``name_key``
    ``name_norm`` converted traditional→simplified char by char, then every
    non-letter (separators, spaces, digits, punctuation such as ``*``/``?``)
    removed.  The key for exact matching/blocking.
``name_pinyin``
    Toneless pinyin (``ü`` written ``v``: 吕 → ``lv``) of ``name_key``, one
    syllable per character, space-separated; the surname is read with the
    surname table (单 → ``shan``, 尉迟 → ``yu chi``).  Latin letters are
    lower-cased; characters without a reading are kept as they are.
``name_pinyin_fuzzy``
    ``name_pinyin`` with southern near-homophones folded, per syllable:
    initials ``zh→z``, ``ch→c``, ``sh→s``, ``n→l``; finals ``ing→in``,
    ``eng→en``, ``ang→an`` (so also ``iang→ian``, ``uang→uan``).  NOT folded
    (deliberately conservative — each fold merges more distinct people):
    ``r/l``, ``f/h``, ``h/w``, ``ong``, ``l→n`` direction (n folds onto l).
``name_surname``
    The surname of ``name_key``: a known two-character compound surname
    (from ``schemas/codes/surname_pinyin.csv``) if the key starts with one
    and has at least 3 characters, else the first character.  Null for
    minority and Latin/foreign-script names (they have no Han surname).
``name_is_minority``
    True when a Han-script ``name_norm`` contains a separator, or the key has
    ≥ 5 Han characters (long transliterated name written without separator;
    爱新觉罗溥仪 too).  False for Latin/foreign-script names.

A null / NaN / blank input, or one whose key is empty, gives an all-null row.
"""

from __future__ import annotations

import csv
import threading
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shiyou.standard.chinese import (
    CANONICAL_NAME_SEPARATOR,
    NAME_SEPARATORS,
    RE2_SPACE,
    as_arrow_strings,
    empty_to_null,
    nfkc_array,
    run_chunked,
    to_frame,
    to_simplified_array,
)

NAME_COLUMNS = [
    "name_norm",
    "name_key",
    "name_pinyin",
    "name_pinyin_fuzzy",
    "name_surname",
    "name_is_minority",
]

#: A key this long with no separator is taken to be a transliterated
#: (minority / foreign) name.  Han names are 2–4 characters; 5+ is rare.
MINORITY_MIN_HAN_LEN = 5

# RE2 class of all separators (escaped for a character class).
_SEP_CLASS = "[" + "".join("\\x{%X}" % ord(c) for c in NAME_SEPARATORS) + "]"
# Separators that are never ASCII punctuation in a Latin name.
_NON_ASCII_SEP_CLASS = "[" + "".join("\\x{%X}" % ord(c) for c in NAME_SEPARATORS if ord(c) > 127) + "]"
# Whitespace, invisibles and control/format characters.
_JUNK = r"(?:" + RE2_SPACE + r"|[\p{Cc}\p{Cf}])+"


# --------------------------------------------------------------------------
# Surname table and per-character pinyin memo
# --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def surname_readings() -> dict[str, str]:
    """``{surname: "pin yin"}`` from ``schemas/codes/surname_pinyin.csv``."""
    path = resources.files("schemas").joinpath("codes", "surname_pinyin.csv")
    with path.open(encoding="utf-8") as fh:
        return {row["surname"].strip(): " ".join(row["pinyin"].split()) for row in csv.DictReader(fh)}


@lru_cache(maxsize=1)
def compound_surnames() -> frozenset[str]:
    return frozenset(s for s in surname_readings() if len(s) == 2)


def _is_han(c: str) -> bool:
    return unicodedata.name(c, "").startswith("CJK")


def fold_syllable(syl: str) -> str:
    """Fold one toneless syllable for southern near-homophones (see module
    docstring for the exact list)."""
    if syl in ("n", "ng", "m", "hm", "hng") or not syl.isascii():
        return syl  # interjections (嗯 n) and non-pinyin tokens stay
    if syl[:2] in ("zh", "ch", "sh"):
        syl = syl[0] + syl[2:]
    elif syl[0] == "n":
        syl = "l" + syl[1:]
    if syl.endswith(("ing", "eng", "ang")):
        syl = syl[:-1]
    return syl


class _PinyinMemo:
    """Per-character pinyin, memoised as two ``str.translate`` tables:
    han char → ``" syl"`` and han char → ``" folded-syl"``.  Filled lazily
    with only the characters actually seen (a few thousand)."""

    def __init__(self) -> None:
        self.plain: dict[int, str] = {}
        self.fuzzy: dict[int, str] = {}
        self._seen: set[str] = set()
        # Two chunks run on two threads: a character must not be marked seen
        # before its table entries exist.
        self._lock = threading.Lock()

    def ensure(self, chars: set[str]) -> None:
        if not chars - self._seen:
            return
        from pypinyin import Style, pinyin  # lazy: import costs ~0.3 s

        with self._lock:
            for c in chars - self._seen:
                if _is_han(c):
                    syl = pinyin(c, style=Style.NORMAL, heteronym=False, errors="default")[0][0]
                    # no reading known: keep the character itself as a token
                    self.plain[ord(c)] = " " + syl
                    self.fuzzy[ord(c)] = " " + (syl if syl == c else fold_syllable(syl))
                self._seen.add(c)


_MEMO = _PinyinMemo()


def _surname_pinyin(surname: str) -> tuple[str, str]:
    reading = surname_readings().get(surname)
    if reading is None:
        _MEMO.ensure(set(surname))
        plain = " ".join(surname.translate(_MEMO.plain).split())
    else:
        plain = reading
    return plain, " ".join(fold_syllable(x) for x in plain.split())


# --------------------------------------------------------------------------
# Column API
# --------------------------------------------------------------------------


def _null_strings(n: int) -> pa.Array:
    return pa.nulls(n, pa.string())


def normalise_names(values: pd.Series) -> pd.DataFrame:
    """Standardise a column of names; see the module docstring for columns."""
    cols = run_chunked(_process, as_arrow_strings(values), NAME_COLUMNS)
    return to_frame(cols, values.index)


def _process(arr: pa.Array) -> dict[str, pa.Array]:
    n = len(arr)
    arr = nfkc_array(arr)

    # Latin (passports) or another non-Han script: no Han surname, and the
    # spaces between words are kept.
    foreign = pc.fill_null(pc.match_substring_regex(arr, r"[^\p{Han}\P{L}]"), False)

    # Han / other names: drop every space, unify separators.
    cjk = pc.replace_substring_regex(arr, _JUNK, "")
    cjk = pc.replace_substring_regex(cjk, _SEP_CLASS + "+", CANONICAL_NAME_SEPARATOR)
    cjk = pc.utf8_trim(cjk, CANONICAL_NAME_SEPARATOR)
    # Latin names: word boundaries matter there, keep one space.
    lat = pc.utf8_upper(arr)
    lat = pc.replace_substring_regex(lat, _NON_ASCII_SEP_CLASS + "+", CANONICAL_NAME_SEPARATOR)
    lat = pc.utf8_trim_whitespace(pc.replace_substring_regex(lat, _JUNK, " "))
    norm = pc.if_else(foreign, lat, cjk)

    key = to_simplified_array(norm)
    key = empty_to_null(pc.replace_substring_regex(key, r"[^\p{L}]+", ""))
    valid = pc.is_valid(key)
    norm = pc.if_else(valid, norm, _null_strings(n))

    # --- minority / surname -------------------------------------------------
    key_len = pc.utf8_length(key)
    han_only = pc.fill_null(pc.match_substring_regex(key, r"^\p{Han}+$"), False)
    has_sep = pc.fill_null(pc.match_substring(norm, CANONICAL_NAME_SEPARATOR), False)
    long_han = pc.and_(han_only, pc.fill_null(pc.greater_equal(key_len, MINORITY_MIN_HAN_LEN), False))
    is_minority = pc.and_(pc.and_not(pc.or_(has_sep, long_han), foreign), valid)
    is_minority = pc.if_else(valid, is_minority, pa.scalar(None, pa.bool_()))

    first2 = pc.utf8_slice_codeunits(key, 0, 2)
    compound = pc.and_(
        pc.fill_null(pc.is_in(first2, value_set=pa.array(sorted(compound_surnames()), pa.string())), False),
        pc.fill_null(pc.greater_equal(key_len, 3), False),
    )
    # No Han surname for Latin or minority names.
    has_surname = pc.and_(pc.and_not(valid, foreign), pc.invert(pc.fill_null(is_minority, False)))
    surname = pc.if_else(compound, first2, pc.utf8_slice_codeunits(key, 0, 1))
    surname = pc.if_else(has_surname, surname, _null_strings(n))
    given = pc.if_else(
        has_surname,
        pc.if_else(compound, pc.utf8_slice_codeunits(key, 2), pc.utf8_slice_codeunits(key, 1)),
        key,
    )

    # --- pinyin: per distinct surname and per distinct given name -------------
    sur_enc = pc.dictionary_encode(surname)
    sur_dict = sur_enc.dictionary.to_pylist()
    sur_py = [_surname_pinyin(s) for s in sur_dict]
    sur_plain = pc.take(pa.array([p for p, _ in sur_py], pa.string()), sur_enc.indices)
    sur_fuzzy = pc.take(pa.array([f for _, f in sur_py], pa.string()), sur_enc.indices)

    giv_enc = pc.dictionary_encode(given)
    giv_dict = giv_enc.dictionary.to_pylist()
    _MEMO.ensure(set("".join(giv_dict)))
    plain_t, fuzzy_t = _MEMO.plain, _MEMO.fuzzy
    giv_plain = pc.take(pa.array([g.translate(plain_t) for g in giv_dict], pa.string()), giv_enc.indices)
    giv_fuzzy = pc.take(pa.array([g.translate(fuzzy_t) for g in giv_dict], pa.string()), giv_enc.indices)

    def _join(sur: pa.Array, giv: pa.Array) -> pa.Array:
        # The given-name table emits " syl" per character: concatenating and
        # trimming gives single-space separated syllables.
        out = pc.binary_join_element_wise(pc.fill_null(sur, ""), giv, "")
        out = pc.utf8_lower(pc.utf8_trim(out, " "))
        return pc.if_else(valid, out, _null_strings(n))

    return {
        "name_norm": norm,
        "name_key": key,
        "name_pinyin": _join(sur_plain, giv_plain),
        "name_pinyin_fuzzy": _join(sur_fuzzy, giv_fuzzy),
        "name_surname": surname,
        "name_is_minority": is_minority,
    }


def normalise_name(s: Any) -> dict[str, Any]:
    """Scalar form of :func:`normalise_names` (same code path), for tests and
    for explaining a decision.  Nulls come back as ``None``."""
    row = normalise_names(pd.Series([s], dtype=object)).iloc[0]
    return {k: (None if pd.isna(v) else (bool(v) if k == "name_is_minority" else str(v))) for k, v in row.items()}
