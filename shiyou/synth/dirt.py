"""Corruptions: how each department mistypes IDs, names, dates, addresses and phones.

Rows are picked vectorised; the few picked rows are rewritten one by one. Every change
is logged (source, row, field, kind) so tests and matchers can check themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import opencc

from . import lexicon as lx
from .addresses import HOUSE_STYLE, Dwellings, render
from .rates import dirt_rate
from .vec import T, categorical, cat, empty, fmt_ymd, ymd_parts

ID_KINDS = ["id_fullwidth", "id_spaces", "id_legacy_15", "id_check_dropped", "id_apostrophe",
            "id_sci_notation", "id_excel_precision", "id_mistyped_digit", "id_swapped_digits",
            "id_blank"]
HAN_NAME_KINDS = ["name_homophone", "name_near_homophone", "name_lookalike", "name_surname_typo",
                  "name_dropped_char", "name_doubled_char", "name_traditional", "name_stray_space"]
PHONE_KINDS = ["phone_plus86", "phone_spaces", "phone_dashes", "phone_blank"]
SEPARATORS = ["•", ".", "．", "・", "‧", "", " "]
IMPOSSIBLE_MD = [(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31), (2, 29)]
_FULLWIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９ＸＸ")
_S2T = opencc.OpenCC("s2t")


def traditional(values: list[str]) -> list[str]:
    """Simplified -> traditional for a few values, in one converter call."""
    if not values:
        return []
    return _S2T.convert("\n".join(values)).split("\n")


@dataclass
class DirtLog:
    """Which rows of which source got which corruption, in which field."""

    parts: list[tuple[str, np.ndarray, str, str]] = field(default_factory=list)

    def add(self, source: str, rows, field_name: str, kind: str) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size:
            self.parts.append((source, rows, field_name, kind))


class Dirtier:
    """Applies one source's dirt at that source's rates."""

    def __init__(self, source: str, rng: np.random.Generator, multiplier: float, log: DirtLog):
        self.source, self.rng, self.multiplier, self.log = source, rng, multiplier, log

    def rate(self, kind: str) -> float:
        return dirt_rate(kind, self.source, self.multiplier)

    def _pick(self, kinds: list[str], n: int) -> np.ndarray:
        return categorical(self.rng, [self.rate(k) for k in kinds], n)

    # --- ID numbers ------------------------------------------------------------------
    def ids(self, values: np.ndarray, birth: np.ndarray, resident: np.ndarray, field_name: str,
            rows_offset: np.ndarray | None = None) -> np.ndarray:
        """Corrupt resident ID numbers (other document numbers get only spaces or blanks)."""
        out = np.asarray(values, dtype=T).copy()
        n = out.shape[0]
        rows = np.arange(n) if rows_offset is None else rows_offset
        kind = self._pick(ID_KINDS, n)
        year = ymd_parts(birth)[0]
        last_digit = np.strings.isdigit(np.strings.slice(out, 17, 18))
        eligible = {
            "id_legacy_15": year < 1985,
            "id_sci_notation": last_digit, "id_excel_precision": last_digit,
        }
        for ki, k in enumerate(ID_KINDS):
            m = (kind == ki) & (out != "") & (resident | (k in ("id_spaces", "id_blank")))
            m &= eligible.get(k, True)
            idx = np.flatnonzero(m)
            if not idx.size:
                continue
            out[idx] = self._id_transform(k, out[idx].tolist())
            self.log.add(self.source, rows[idx], field_name, k)
        clean = (kind == len(ID_KINDS)) & resident & np.strings.endswith(out, "X")
        lower = np.flatnonzero(clean & (self.rng.random(n) < self.rate("id_lowercase_x")))
        out[lower] = np.strings.lower(out[lower])
        self.log.add(self.source, rows[lower], field_name, "id_lowercase_x")
        return out

    def _id_transform(self, kind: str, vals: list[str]) -> list[str]:
        rng = self.rng
        k = len(vals)
        u = rng.random(k)
        v = rng.integers(0, 10, k)
        if kind == "id_fullwidth":
            return [s.translate(_FULLWIDTH) for s in vals]
        if kind == "id_spaces":
            # 6-8-4 groups, one stray space, or a trailing one
            out = []
            for s, x in zip(vals, u):
                if x < 0.4 and len(s) == 18:
                    out.append(f"{s[:6]} {s[6:14]} {s[14:]}")
                elif x < 0.8:
                    i = 1 + int(x * 97) % (len(s) - 1)
                    out.append(s[:i] + " " + s[i:])
                else:
                    out.append(s + " ")
            return out
        if kind == "id_legacy_15":
            return [s[:6] + s[8:17] for s in vals]
        if kind == "id_check_dropped":
            return [s[:17] for s in vals]
        if kind == "id_apostrophe":
            return ["'" + s for s in vals]
        if kind == "id_sci_notation":
            return [f"{int(s):.5E}" for s in vals]  # 4.40106E+17: the digits are gone
        if kind == "id_excel_precision":
            return [s[:15] + "000" for s in vals]
        if kind == "id_mistyped_digit":
            out = []
            for s, x, d in zip(vals, u, v):
                i = int(x * 17)
                new = str((int(s[i]) + 1 + int(d) % 9) % 10)  # always a different digit
                out.append(s[:i] + new + s[i + 1:])
            return out
        if kind == "id_swapped_digits":
            out = []
            for s, x in zip(vals, u):
                cands = [i for i in range(16) if s[i] != s[i + 1]]
                i = cands[int(x * len(cands))]
                out.append(s[:i] + s[i + 1] + s[i] + s[i + 2:])
            return out
        if kind == "id_blank":
            return [""] * k
        raise ValueError(kind)

    # --- names -------------------------------------------------------------------------
    def names(self, values: np.ndarray, surname_len: np.ndarray, name_kind: np.ndarray,
              field_name: str, rows: np.ndarray | None = None) -> np.ndarray:
        out = np.asarray(values, dtype=T).copy()
        n = out.shape[0]
        rows = np.arange(n) if rows is None else rows
        kind = self._pick(HAN_NAME_KINDS, n)
        kind[name_kind != 0] = len(HAN_NAME_KINDS)
        for ki, k in enumerate(HAN_NAME_KINDS):
            idx = np.flatnonzero(kind == ki)
            if not idx.size:
                continue
            new = self._name_transform(k, out[idx].tolist(), surname_len[idx].tolist())
            changed = np.array([a != b for a, b in zip(new, out[idx].tolist())], dtype=bool)
            out[idx[changed]] = np.array(new, dtype=T)[changed]
            self.log.add(self.source, rows[idx[changed]], field_name, k)
        self._minority_names(out, name_kind, field_name, rows)
        return out

    def _name_transform(self, kind: str, vals: list[str], slen: list[int]) -> list[str]:
        u = self.rng.random(len(vals)).tolist()
        if kind == "name_traditional":
            return traditional(vals)
        table, start_at_given, only_surname = {
            "name_homophone": (lx.HOMOPHONES, True, False),
            "name_near_homophone": (lx.NEAR_HOMOPHONES, False, False),
            "name_lookalike": (lx.LOOKALIKES, False, False),
            "name_surname_typo": (lx.SURNAME_HOMOPHONES, False, True),
        }.get(kind, (None, False, False))
        out = []
        for s, sl, x in zip(vals, slen, u):
            if table is not None:
                lo = sl if start_at_given else 0
                hi = sl if only_surname else len(s)
                cands = [i for i in range(lo, hi) if s[i] in table]
                if cands:
                    i = cands[int(x * len(cands))]
                    s = s[:i] + table[s[i]] + s[i + 1:]
            elif kind == "name_dropped_char" and len(s) - sl >= 2:
                i = sl + int(x * (len(s) - sl))
                s = s[:i] + s[i + 1:]
            elif kind == "name_doubled_char" and len(s) > sl:
                s = s + s[-1]
            elif kind == "name_stray_space" and len(s) > 1:
                cut = max(sl, 1)
                s = [s[:cut] + " " + s[cut:], " " + s, s + " ", s[:cut] + "\u3000" + s[cut:]][int(x * 4)]
            out.append(s)
        return out

    def _minority_names(self, out: np.ndarray, name_kind: np.ndarray, field_name: str,
                        rows: np.ndarray) -> None:
        dotted = np.flatnonzero(name_kind == 1)
        latin = np.flatnonzero(name_kind == 3)
        minority = np.flatnonzero((name_kind == 1) | (name_kind == 2))
        rng = self.rng
        for idx, kind, rate in (
            (minority, "name_transliteration", self.rate("name_transliteration")),
            (dotted, "name_parts_swapped", self.rate("name_parts_swapped")),
            (latin, "name_parts_swapped", self.rate("name_parts_swapped")),
            (dotted, "name_separator", self.rate("name_separator")),
        ):
            pick = idx[rng.random(idx.size) < rate]
            if not pick.size:
                continue
            u = rng.random(pick.size).tolist()
            changed = []
            for i, x in zip(pick.tolist(), u):
                s = str(out[i])
                if kind == "name_transliteration":
                    for a, b in lx.TRANSLITERATIONS.items():
                        if a in s:
                            s = s.replace(a, b, 1)
                            break
                elif kind == "name_parts_swapped":
                    sep = "·" if "·" in s else " "
                    if sep in s:
                        a, b = s.split(sep, 1)
                        s = b + sep + a
                else:
                    if "·" in s:
                        s = s.replace("·", SEPARATORS[int(x * len(SEPARATORS))])
                if s != out[i]:
                    out[i] = s
                    changed.append(i)
            self.log.add(self.source, rows[changed], field_name, kind)

    # --- dates -------------------------------------------------------------------------
    def dates(self, dates: np.ndarray, pattern: str, field_name: str,
              rows: np.ndarray | None = None, month_only: bool = False) -> np.ndarray:
        """Format dates; a few are shifted (typed wrong) or impossible (19800230)."""
        n = dates.shape[0]
        rows = np.arange(n) if rows is None else rows
        kind = self._pick(["date_impossible", "date_off"], n)
        d = dates.astype("datetime64[D]").copy()
        off = kind == 1
        shift = self.rng.integers(1, 40, n) * np.where(self.rng.random(n) < 0.5, -1, 1)
        d[off] = d[off] + shift[off]
        year, month, day = ymd_parts(d)
        imp = np.flatnonzero(kind == 0)
        if imp.size:
            md = self.rng.integers(0, len(IMPOSSIBLE_MD), imp.size)
            month[imp] = np.array([m for m, _ in IMPOSSIBLE_MD])[md]
            day[imp] = np.array([x for _, x in IMPOSSIBLE_MD])[md]
            leap = (year[imp] % 4 == 0) & ((year[imp] % 100 != 0) | (year[imp] % 400 == 0))
            day[imp] = np.where((month[imp] == 2) & (day[imp] == 29) & leap, 30, day[imp])
            if month_only:
                month[imp] = np.where(self.rng.random(imp.size) < 0.5, 13, 0)
        self.log.add(self.source, rows[imp], field_name, "date_impossible")
        self.log.add(self.source, rows[np.flatnonzero(off)], field_name, "date_off")
        return fmt_ymd(year, month, day, pattern)

    # --- sex ---------------------------------------------------------------------------
    def sex(self, sex: np.ndarray, labels: tuple[str, str], field_name: str,
            rows: np.ndarray | None = None, unknown_codes: bool = False) -> np.ndarray:
        n = sex.shape[0]
        rows = np.arange(n) if rows is None else rows
        kinds = ["sex_unknown_code", "sex_flipped"] if unknown_codes else ["sex_flipped"]
        kind = self._pick(kinds, n)
        s = np.where(kind == kinds.index("sex_flipped"), 3 - sex, sex)
        out = np.where(s == 1, labels[0], labels[1]).astype(T)
        if unknown_codes:
            unk = np.flatnonzero(kind == 0)
            out[unk] = np.where(self.rng.random(unk.size) < 0.5, "0", "9")
            self.log.add(self.source, rows[unk], field_name, "sex_unknown_code")
        self.log.add(self.source, rows[np.flatnonzero(kind == kinds.index("sex_flipped"))],
                     field_name, "sex_flipped")
        return out

    # --- addresses ---------------------------------------------------------------------
    def addresses(self, dw: Dwellings, current: np.ndarray, previous: np.ndarray,
                  field_name: str, rows: np.ndarray | None = None,
                  stale_ok: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Render dwellings in this source's style; returns (text, dwelling actually used)."""
        n = current.shape[0]
        rows = np.arange(n) if rows is None else rows
        rng = self.rng
        used = current.copy()
        stale = (previous >= 0) & (rng.random(n) < self.rate("addr_stale")) & stale_ok
        used[stale] = previous[stale]
        other = rng.random(n) < self.rate("addr_other_style")
        dropped = (dw.estate[used] != "") & (rng.random(n) < self.rate("addr_estate_dropped"))
        text = render(dw, used, HOUSE_STYLE[self.source], other, dropped, rng)
        trad = np.flatnonzero(rng.random(n) < self.rate("addr_traditional"))
        if trad.size:
            text[trad] = np.array(traditional(text[trad].tolist()), dtype=T)
        for kind, m in (("addr_stale", stale), ("addr_other_style", other),
                        ("addr_estate_dropped", dropped)):
            self.log.add(self.source, rows[np.flatnonzero(m)], field_name, kind)
        self.log.add(self.source, rows[trad], field_name, "addr_traditional")
        return text, used

    def punctuation(self, text: np.ndarray, field_name: str, rows: np.ndarray | None = None
                    ) -> np.ndarray:
        """Free text with an ASCII comma or quotes: fine in RFC 4180, if quoted."""
        n = text.shape[0]
        rows = np.arange(n) if rows is None else rows
        idx = np.flatnonzero((self.rng.random(n) < self.rate("text_punctuation")) & (text != ""))
        out = text.copy()
        vals = []
        for s, x in zip(text[idx].tolist(), self.rng.random(idx.size).tolist()):
            cut = s.find("号") + 1 or len(s) // 2
            vals.append(s[:cut] + "," + s[cut:] if x < 0.6 else s[:cut] + '"' + s[cut:] + '"')
        if vals:
            out[idx] = np.array(vals, dtype=T)
        self.log.add(self.source, rows[idx], field_name, "text_punctuation")
        return out

    # --- phones ------------------------------------------------------------------------
    def phones(self, mobile: np.ndarray, old_mobile: np.ndarray, landline: np.ndarray,
               use_landline: np.ndarray, field_name: str, rows: np.ndarray | None = None
               ) -> np.ndarray:
        """Pick the number on file (stale, landline) and write it in one of the usual ways."""
        n = mobile.shape[0]
        rows = np.arange(n) if rows is None else rows
        rng = self.rng
        out = np.asarray(mobile, dtype=T).copy()
        stale = (old_mobile != "") & (rng.random(n) < self.rate("phone_stale"))
        out[stale] = old_mobile[stale]
        land = use_landline & (landline != "")
        out[land] = landline[land]
        self.log.add(self.source, rows[np.flatnonzero(stale & ~land)], field_name, "phone_stale")
        kind = self._pick(PHONE_KINDS, n)
        kind[out == ""] = len(PHONE_KINDS)
        is_land = np.strings.startswith(out, "020-")
        for ki, k in enumerate(PHONE_KINDS):
            idx = np.flatnonzero(kind == ki)
            if not idx.size:
                continue
            vals = out[idx].tolist()
            lands = is_land[idx].tolist()
            if k == "phone_blank":
                new = [""] * idx.size
            elif k == "phone_plus86":
                new = [("+86-20-" + s[4:]) if ld else ("+86" if x < 0.5 else "+86 ") + s
                       for s, ld, x in zip(vals, lands, rng.random(idx.size).tolist())]
            elif k == "phone_spaces":
                new = [(s[:3] + " " + s[4:8] + " " + s[8:]) if ld else f"{s[:3]} {s[3:7]} {s[7:]}"
                       for s, ld in zip(vals, lands)]
            else:
                new = [("(020)" + s[4:]) if ld else f"{s[:3]}-{s[3:7]}-{s[7:]}"
                       for s, ld in zip(vals, lands)]
            out[idx] = np.array(new, dtype=T)
            self.log.add(self.source, rows[idx], field_name, k)
        return out


def ethnic_names(codes: np.ndarray, rng: np.random.Generator, old_name_rate: float) -> np.ndarray:
    """GB/T 3304 codes as names with 族; old names (毛难族) now and then."""
    names = np.array([""] + [e + "族" for e in lx.ETHNIC_NAMES], dtype=T)
    out = names[codes]
    for code, old in lx.ETHNIC_OLD_NAMES.items():
        m = (codes == code) & (rng.random(codes.shape[0]) < old_name_rate)
        out[m] = old + "族"
    return out


__all__ = ["Dirtier", "DirtLog", "traditional", "ethnic_names", "empty", "cat"]
