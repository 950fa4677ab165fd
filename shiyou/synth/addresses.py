"""The district's dwellings (estates and urban villages) and the many ways to write one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import lexicon as lx
from .vec import T, cat, empty, strs, table, zpad

# Ways to write the part before the road: (label, template); {s} is the 街道.
PREFIXES = ["广东省广州市天河区{s}", "广州市天河区{s}", "广州市天河区", "天河区", "广州天河", "",
            "天河区{s}", "广东省广州市天河区"]
BUILDING_STYLES = ["{n}栋", "{c}栋", "{n}座", "{n}幢", "{n}号楼"]
UNIT_STYLES = ["{n}单元", "{c}单元", ""]
ROOM_STYLES = ["{r}房", "{r}室", "{f}楼{rr}", "{r}"]
# Each department's own habit: (prefix, building, unit, room) style indices.
HOUSE_STYLE = {
    "police": (0, 0, 0, 0),
    "social_security": (2, 0, 0, 0),
    "labour": (3, 0, 0, 1),
    "civil_affairs": (1, 0, 0, 1),
    "family_planning": (6, 0, 0, 0),
}
_CN = table([lx.chinese_number(i) if i else "" for i in range(100)])


@dataclass
class Dwellings:
    """One row per dwelling (a flat, or a rented room in an urban village)."""

    street: np.ndarray  # index into lexicon.STREETS
    village: np.ndarray  # bool: urban-village room
    site: np.ndarray  # estate or village index (estates first)
    locator: np.ndarray  # "天河路385号" / "车陂村东街3巷12号"
    estate: np.ndarray  # "华景新城" or ""
    building: np.ndarray  # 0: none
    unit: np.ndarray  # 0: none
    floor: np.ndarray
    room: np.ndarray  # floor * 100 + room on floor
    dzbm: np.ndarray
    canonical: np.ndarray

    def __len__(self) -> int:
        return int(self.street.shape[0])


def _estate_names(rng: np.random.Generator, n: int) -> np.ndarray:
    combos = [p + s for p in lx.ESTATE_PREFIXES for s in lx.ESTATE_SUFFIXES]
    order = rng.permutation(len(combos))
    phases = ["", "二期", "三期", "东区", "西区", "南区", "北区", "四期", "五期"]
    names = [combos[order[i % len(combos)]] + phases[i // len(combos)] for i in range(n)]
    return table(names)


def build_dwellings(rng: np.random.Generator, n_estate: int, n_village: int) -> Dwellings:
    """Distinct dwellings: `n_estate` flats in estates, then `n_village` village rooms."""
    n_sites = max(4, n_estate // 180 + 1)
    if n_sites > len(lx.ESTATE_PREFIXES) * len(lx.ESTATE_SUFFIXES) * 9:
        raise ValueError("district too large for the estate name list")
    e_street = rng.integers(0, len(lx.STREETS), n_sites)
    e_road = np.array([lx.STREETS[s][1][i % len(lx.STREETS[s][1])]
                       for s, i in zip(e_street.tolist(), rng.integers(0, 3, n_sites).tolist())],
                      dtype=T)
    e_door = rng.integers(1, 900, n_sites)
    e_name = _estate_names(rng, n_sites)
    e_buildings = rng.integers(3, 30, n_sites)
    e_units = np.where(rng.random(n_sites) < 0.4, rng.integers(1, 5, n_sites), 0)
    e_floors = rng.integers(7, 34, n_sites)
    e_rooms = rng.integers(2, 9, n_sites)
    e_cap = e_buildings * np.maximum(e_units, 1) * e_floors * e_rooms

    villages = lx.URBAN_VILLAGES
    n_v = len(villages) if n_village else 0
    v_street = np.array([v[1] for v in villages], dtype=np.int64)
    v_name = table([v[0] for v in villages])

    # Estate flats: draw (site, building, unit, floor, room) and keep distinct ones.
    def draw_estate(k):
        site = np.searchsorted(np.cumsum(e_cap / e_cap.sum()), rng.random(k), side="right")
        site = np.minimum(site, n_sites - 1)
        b = (rng.random(k) * e_buildings[site]).astype(np.int64) + 1
        units = np.maximum(e_units[site], 1)
        u = np.where(e_units[site] > 0, (rng.random(k) * units).astype(np.int64) + 1, 0)
        f = (rng.random(k) * e_floors[site]).astype(np.int64) + 1
        r = (rng.random(k) * e_rooms[site]).astype(np.int64) + 1
        return site, b, u, f, r

    def draw_village(k):
        site = rng.integers(0, n_v, k)
        lane = rng.integers(0, len(lx.VILLAGE_LANES), k)
        alley = rng.integers(1, 31, k)
        house = rng.integers(1, 41, k)
        f = rng.integers(1, 9, k)
        r = rng.integers(1, 5, k)
        return site, lane * 100 + alley, house, f, r  # (lane, alley) packed in the unit slot

    def distinct(draw, k):
        if k == 0:
            z = np.zeros(0, np.int64)
            return z, z, z, z, z
        parts = draw(int(k * 1.3) + 8)
        while True:
            key = (((parts[0] * 10000 + parts[1]) * 10000 + parts[2]) * 100 + parts[3]) * 10 + parts[4]
            _, first = np.unique(key, return_index=True)
            first.sort()  # keep draw order: deterministic and unbiased
            if first.size >= k:
                return tuple(p[first[:k]] for p in parts)
            more = draw(k)
            parts = tuple(np.concatenate([a, b]) for a, b in zip(parts, more))

    es, eb, eu, ef, er = distinct(draw_estate, n_estate)
    vs, vpack, vh, vf, vr = distinct(draw_village, n_village)

    street = np.concatenate([e_street[es], v_street[vs] if n_village else np.zeros(0, np.int64)])
    village = np.concatenate([np.zeros(n_estate, bool), np.ones(n_village, bool)])
    site = np.concatenate([es, vs + n_sites])
    loc_e = cat(e_road[es], strs(e_door[es]), "号")
    loc_v = (cat(v_name[vs], table(lx.VILLAGE_LANES)[vpack // 100], strs(vpack % 100), "巷",
                 strs(vh), "号") if n_village else np.zeros(0, dtype=T))
    locator = np.concatenate([loc_e, loc_v]).astype(T)
    estate = np.concatenate([e_name[es], empty(n_village)]).astype(T)
    building = np.concatenate([eb, np.zeros(n_village, np.int64)])
    unit = np.concatenate([eu, np.zeros(n_village, np.int64)])
    floor = np.concatenate([ef, vf])
    room = floor * 100 + np.concatenate([er, vr])
    community = site % 7 + 1  # a handful of 社区 per street; only the code uses it
    n = street.shape[0]
    dzbm = cat(str(lx.DISTRICT_CODE), zpad(street + 1, 3), zpad(community, 3),
               zpad(rng.permutation(n) + 1, 8))
    street_names = table([s[0] for s in lx.STREETS])
    b_part = np.where(building > 0, cat(strs(building), "栋"), empty(n))
    u_part = np.where(unit > 0, cat(strs(unit), "单元"), empty(n))
    canonical = cat(lx.PROVINCE + lx.CITY + lx.DISTRICT, street_names[street], locator, estate,
                    b_part, u_part, strs(room), "房")
    return Dwellings(street, village, site, locator, estate, building, unit, floor, room, dzbm,
                     canonical)


def render(dw: Dwellings, idx: np.ndarray, style: tuple[int, int, int, int],
           other_style: np.ndarray, estate_dropped: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    """Write dwellings `idx` in a department's style; rows in `other_style` get random styles.

    Traditional characters are applied by the caller (opencc on a few rows).
    """
    n = idx.shape[0]
    street_names = table([s[0] for s in lx.STREETS])
    styles = np.tile(np.array(style, np.int64), (n, 1))
    k = int(other_style.sum())
    if k:
        styles[other_style] = np.column_stack([
            rng.integers(0, len(PREFIXES), k), rng.integers(0, len(BUILDING_STYLES), k),
            rng.integers(0, len(UNIT_STYLES), k), rng.integers(0, len(ROOM_STYLES), k)])

    def by_style(column: np.ndarray, templates: list[str], fill) -> np.ndarray:
        out = empty(n)
        for i, tpl in enumerate(templates):
            m = column == i
            if m.any():
                out[m] = fill(tpl, m)
        return out

    street = street_names[dw.street[idx]]
    prefix = by_style(styles[:, 0], PREFIXES, lambda tpl, m: _fmt(tpl, s=street[m]))
    b = dw.building[idx]
    u = dw.unit[idx]
    building = by_style(styles[:, 1], BUILDING_STYLES,
                        lambda tpl, m: _fmt(tpl, n=strs(b[m]), c=_CN[np.minimum(b[m], 99)]))
    building = np.where(b > 0, building, empty(n))
    unit = by_style(styles[:, 2], UNIT_STYLES,
                    lambda tpl, m: _fmt(tpl, n=strs(u[m]), c=_CN[np.minimum(u[m], 99)]))
    unit = np.where(u > 0, unit, empty(n))
    room_no = dw.room[idx]
    room = by_style(styles[:, 3], ROOM_STYLES,
                    lambda tpl, m: _fmt(tpl, r=strs(room_no[m]), f=strs(room_no[m] // 100),
                                        rr=zpad(room_no[m] % 100, 2)))
    estate = np.where(estate_dropped, empty(n), dw.estate[idx])
    return cat(prefix, dw.locator[idx], estate, building, unit, room)


def _fmt(template: str, **cols: np.ndarray) -> np.ndarray:
    """Vectorised str.format for templates with {name} placeholders."""
    out: list = []
    rest = template
    while rest:
        start = rest.find("{")
        if start < 0:
            out.append(rest)
            break
        if start:
            out.append(rest[:start])
        end = rest.index("}", start)
        out.append(cols[rest[start + 1:end]])
        rest = rest[end + 1:]
    if not out:
        n = next(iter(cols.values())).shape[0]
        return empty(n)
    if all(isinstance(p, str) for p in out):
        n = next(iter(cols.values())).shape[0]
        return np.full(n, "".join(out), dtype=T)
    return cat(*out)
