"""Shared helpers for Chinese text standardisation.

Everything here is used by ``names.py`` and ``addresses.py``:

* NFKC plus the explicit mappings NFKC does *not* do (minority-name middle
  dots, dash variants, ideographic punctuation);
* a character-level traditional → simplified map, built once from OpenCC's
  ``t2s`` config over the CJK Unified Ideographs blocks and cached;
* Chinese-numeral parsing (``十五`` → 15, ``一五零二`` → ``1502``);
* Arrow-array helpers so callers can work on whole columns (pyarrow.compute
  runs RE2 in C++; only the rare rows that need a Python callable leave it).

No dagster imports; pandas only at the column boundary.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# --------------------------------------------------------------------------
# Characters NFKC leaves alone but registries use interchangeably.
# --------------------------------------------------------------------------

#: Separators seen between the parts of minority / transliterated names.
#: NFKC only folds ``．`` (U+FF0E) and ``﹒`` (U+FE52) to ``.``; the middle dots
#: U+00B7 · / U+2022 • / U+30FB ・ / U+2027 ‧ survive NFKC and must be mapped
#: explicitly.  ``。`` is what a Chinese IME produces when one types ``.``;
#: hyphens/dashes are used by typists who cannot find the middle dot.
NAME_SEPARATORS = (
    "\u00b7"  # · MIDDLE DOT (the official one in GB 18030 names)
    "\u2022"  # • BULLET
    "\u30fb"  # ・ KATAKANA MIDDLE DOT (also what NFKC makes of U+FF65 ･)
    "\u2027"  # ‧ HYPHENATION POINT
    "\u2219"  # ∙ BULLET OPERATOR
    "\u22c5"  # ⋅ DOT OPERATOR
    "\u25cf"  # ● BLACK CIRCLE
    "\u0387"  # · GREEK ANO TELEIA (NFKC turns it into U+00B7 anyway)
    "."  # full stop, and what NFKC makes of ． and ﹒
    "\u3002"  # 。 IDEOGRAPHIC FULL STOP
    "-"  # hyphen-minus, and what NFKC makes of － and ﹣
    "\u2010\u2011\u2012\u2013\u2014\u2015"  # ‐ ‑ ‒ – — ―
)
CANONICAL_NAME_SEPARATOR = "\u00b7"

#: Code points that are invisible in a registry but break equality.  NFKC
#: turns U+3000 / U+00A0 / U+2000–U+200A into U+0020, but zero-width
#: characters and the BOM survive it.
INVISIBLES = "\u200b\u200c\u200d\u2060\ufeff\u00ad"

#: RE2 class for "any whitespace or invisible", for pyarrow.compute.
RE2_SPACE = r"[\s\p{Z}\x{200B}-\x{200D}\x{2060}\x{FEFF}\x{00AD}]"

# --------------------------------------------------------------------------
# NFKC
# --------------------------------------------------------------------------


def nfkc(s: str) -> str:
    """NFKC-normalise one string (full-width ASCII → ASCII, U+3000 → space,
    compatibility ideographs → unified ideographs)."""
    return unicodedata.normalize("NFKC", s)


def nfkc_array(arr: pa.Array) -> pa.Array:
    """Vectorised NFKC over an Arrow string array (nulls stay null)."""
    return pc.utf8_normalize(arr, form="NFKC")


# --------------------------------------------------------------------------
# Traditional → simplified, character by character
# --------------------------------------------------------------------------

#: CJK Unified Ideographs (U+4E00–U+9FFF) and Extension A (U+3400–U+4DBF).
#: Compatibility ideographs (U+F900…) are folded into these by NFKC first.
_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF))


@lru_cache(maxsize=1)
def t2s_char_map() -> dict[int, str]:
    """``{ord(traditional): simplified}`` for every ideograph OpenCC ``t2s``
    changes when it is converted *on its own*.

    Char-by-char on purpose: phrase-level conversion depends on the
    neighbours (a name is not a phrase), and a per-char table can be applied
    with ``str.translate`` in C.  Built once (~10 ms) and cached.
    """
    import opencc  # imported lazily: only needed to build the table

    cc = opencc.OpenCC("t2s")
    chars = [chr(cp) for lo, hi in _CJK_RANGES for cp in range(lo, hi + 1)]
    # One call over a newline-joined block: OpenCC never converts across a
    # newline, so every character is converted in isolation.
    converted = cc.convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # pragma: no cover - defensive
        raise RuntimeError("OpenCC changed the number of lines; cannot build t2s map")
    return {ord(t): s for t, s in zip(chars, converted) if s != t and len(s) >= 1}


@lru_cache(maxsize=1)
def t2s_table() -> dict[int, str]:
    """The ``str.translate`` table (same object as :func:`t2s_char_map`)."""
    return t2s_char_map()


def to_simplified(s: str) -> str:
    """Traditional → simplified, char by char (lossy: use for keys only)."""
    return s.translate(t2s_table())


@lru_cache(maxsize=1)
def re2_traditional_class() -> str:
    """An RE2 character class matching every character the t2s map changes,
    used to find the (few) rows that need the Python translate."""
    cps = sorted(t2s_char_map())
    # Collapse into ranges to keep the pattern short.
    parts: list[str] = []
    start = prev = cps[0]
    for cp in cps[1:] + [None]:  # type: ignore[list-item]
        if cp is not None and cp == prev + 1:
            prev = cp
            continue
        parts.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        if cp is not None:
            start = prev = cp
    return "[" + "".join(parts) + "]"


def map_rows_where(arr: pa.Array, mask: pa.Array, fn) -> pa.Array:
    """Apply the Python callable ``fn`` only to the rows where ``mask`` is
    true, leaving the others untouched (zero Python work for them)."""
    mask = pc.fill_null(mask, False)
    idx = pc.indices_nonzero(mask)
    if len(idx) == 0:
        return arr
    sub = pc.take(arr, idx).to_pylist()
    new = pa.array([None if v is None else fn(v) for v in sub], type=pa.string())
    # scatter back: replace_with_mask takes replacements in mask order
    return pc.replace_with_mask(arr, mask, new)


def to_simplified_array(arr: pa.Array) -> pa.Array:
    """Vectorised t2s: an RE2 scan finds rows with a traditional character;
    only those go through ``str.translate``."""
    has_trad = pc.match_substring_regex(arr, re2_traditional_class())
    table = t2s_table()
    return map_rows_where(arr, has_trad, lambda v: v.translate(table))


# --------------------------------------------------------------------------
# Chinese numerals
# --------------------------------------------------------------------------

_DIGITS = {
    "零": 0, "〇": 0, "○": 0,
    "一": 1, "壹": 1, "幺": 1,
    "二": 2, "贰": 2, "貳": 2, "两": 2, "兩": 2,
    "三": 3, "叁": 3, "參": 3,
    "四": 4, "肆": 4,
    "五": 5, "伍": 5,
    "六": 6, "陆": 6, "陸": 6,
    "七": 7, "柒": 7,
    "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}  # fmt: skip
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_SPECIAL = {"廿": 20, "卅": 30}

#: All characters :func:`parse_chinese_numeral` understands (for regexes).
CHINESE_NUMERAL_CHARS = "".join(_DIGITS) + "".join(_UNITS) + "".join(_SPECIAL)


@lru_cache(maxsize=8192)  # addresses repeat a few hundred numerals (floors, buildings, rooms) a million times
def parse_chinese_numeral(s: str) -> str | None:
    """Chinese numeral → string of Arabic digits, or None if ``s`` is not one.

    Two notations occur in addresses:

    * positional, with 十/百/千: ``十五`` → ``15``, ``二十`` → ``20``,
      ``一百零五`` → ``105``, ``一千五百零二`` → ``1502``;
    * digit by digit, without units: ``一五零二`` → ``1502``, ``零二`` → ``02``
      (leading zeros are kept: they are part of a room number).

    Returns a string, not an int, because of the second case.
    """
    if not s:
        return None
    if any(c in _UNITS or c in _SPECIAL for c in s):
        total = 0
        cur: int | None = None
        for c in s:
            if c in _DIGITS:
                cur = _DIGITS[c]
            elif c in _UNITS:
                total += (1 if cur is None else cur) * _UNITS[c]
                cur = None
            elif c in _SPECIAL:
                total += _SPECIAL[c]
                cur = None
            else:
                return None
        if cur is not None:
            total += cur
        return str(total)
    out = []
    for c in s:
        d = _DIGITS.get(c)
        if d is None:
            return None
        out.append(str(d))
    return "".join(out)


_NUMERAL_RUN = re.compile(f"[{re.escape(CHINESE_NUMERAL_CHARS)}]+")


def chinese_numerals_to_arabic(s: str) -> str:
    """Convert *every* Chinese-numeral run in ``s``.  Blanket conversion: only
    for strings already known to be numbers (callers restrict the context,
    e.g. addresses convert only runs next to a unit word)."""
    return _NUMERAL_RUN.sub(lambda m: parse_chinese_numeral(m.group(0)) or m.group(0), s)


def empty_to_null(arr: pa.Array) -> pa.Array:
    """``""`` → null (``extract_regex`` returns ``""`` for groups that did
    not take part in the match)."""
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


# --------------------------------------------------------------------------
# Column plumbing shared by names.py and addresses.py
# --------------------------------------------------------------------------

#: Columns smaller than this are processed on the calling thread.
PARALLEL_MIN_ROWS = 50_000
#: pyarrow.compute releases the GIL, so two chunks on two threads use both
#: cores of the reference machine.
THREADS = 2


def as_arrow_strings(values: pd.Series) -> pa.Array:
    """Series → Arrow string array; anything that is not a str (NaN, None,
    numbers from a badly typed sheet) becomes null."""
    try:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arr = pa.array([v if isinstance(v, str) else None for v in values.tolist()], type=pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def run_chunked(
    fn: Callable[[pa.Array], dict[str, pa.Array]],
    arr: pa.Array,
    columns: list[str],
    min_rows: int | None = None,
) -> dict[str, pa.Array | pa.ChunkedArray]:
    """Run ``fn`` (Arrow array → named result arrays) over ``arr`` split in
    :data:`THREADS` contiguous chunks on as many threads, re-assembled in
    order.  Row results must not depend on the other rows of the chunk."""
    n = len(arr)
    if n < (PARALLEL_MIN_ROWS if min_rows is None else min_rows) or THREADS < 2:
        res = fn(arr)
        return {c: res[c] for c in columns}
    step = -(-n // THREADS)
    chunks = [arr.slice(i, step) for i in range(0, n, step)]
    with ThreadPoolExecutor(max_workers=THREADS) as ex:
        results = list(ex.map(fn, chunks))
    return {c: pa.chunked_array([r[c] for r in results]) for c in columns}


def to_frame(cols: dict[str, pa.Array | pa.ChunkedArray], index: pd.Index) -> pd.DataFrame:
    """Arrow results → DataFrame: strings as ``string[pyarrow]`` (zero copy),
    booleans as nullable ``boolean``."""
    data = {}
    for name, a in cols.items():
        if pa.types.is_boolean(a.type):
            data[name] = pd.Series(a.to_pandas(), dtype="boolean").array
        else:
            data[name] = pd.arrays.ArrowStringArray(a.cast(pa.string()) if a.type != pa.string() else a)
    out = pd.DataFrame(data)
    out.index = index
    return out
