"""generate_district(): people + five extracts + the answer key, all in memory."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .broken import break_rows
from .dirt import DirtLog
from .population import (DOC_TYPE_NAMES, POP_TYPE_NAMES, RESIDENT_ID, STATUS_NAMES, Population,
                         generate_population, hard_case_count)
from .rates import SOURCES
from .sources import BUILDERS, ID_COLUMN, NAME_COLUMN, Ctx, SourceTable
from .vec import T, cat, empty, fmt_date, stream, strs, zpad

# Hard-case flags a person can carry in persons.csv (plus the informative moved_within_district).
HARD_CASE_FLAGS = ["twin", "shared_phone", "same_name_neighbour", "ss_duplicate", "police_duplicate",
                   "id_of_household_member", "former_name_used", "deceased_still_paid",
                   "shared_id_number", "reassigned_phone"]


@dataclass
class District:
    n_residents: int
    seed: int
    snapshot_date: dt.date
    dirt_multiplier: float
    population: Population
    tables: dict[str, SourceTable]
    dirt_log: DirtLog

    # --- the answer key, as columns (name -> array) -----------------------------------
    def persons(self) -> dict[str, np.ndarray]:
        pop = self.population
        n = len(pop)
        flags = empty(n)
        for name in sorted(pop.flags):
            flags = cat(flags, np.where(pop.flags[name], name + ";", ""))
        flags = np.strings.rstrip(flags, ";")
        sd = pop.status_date
        return {
            "person_id": pop.person_id,
            "name": pop.name,
            "former_name": pop.former_name,
            "id_type": DOC_TYPE_NAMES[pop.doc_type],
            "id_number": pop.id_number,
            "sex": strs(pop.sex),
            "birth_date": fmt_date(pop.birth, "Y-M-D"),
            "ethnic_code": np.where(pop.ethnic > 0, zpad(pop.ethnic, 2), "").astype(T),
            "status": STATUS_NAMES[pop.status],
            "status_date": np.where(np.isnat(sd), "", fmt_date(np.where(np.isnat(sd), pop.snapshot, sd),
                                                              "Y-M-D")).astype(T),
            "population_type": POP_TYPE_NAMES[pop.pop_type],
            "household_id": pop.hh_number[pop.household],
            "relationship": pop.rel,
            "address": pop.dwellings.canonical[pop.dwelling],
            "dzbm": pop.dwellings.dzbm[pop.dwelling],
            "mobile": pop.mobile,
            "flags": flags,
        }

    def truth(self) -> dict[str, np.ndarray]:
        """source, record_id, person_id for every record a correct pipeline loads."""
        pid = self.population.person_id
        src, rec, per = [], [], []
        for s in SOURCES:
            t = self.tables[s]
            ok = np.flatnonzero(t.broken == "")
            if s == "family_planning":
                # A row whose woman has no name is still readable: her husband is loaded.
                readable = np.flatnonzero((t.broken == "") | (t.broken == "missing_name"))
                hus = readable[t.husband[readable] >= 0]
                rows = np.concatenate([ok, hus])
                keys = np.concatenate([cat(t.key[ok], "-F"), cat(t.key[hus], "-M")])
                people = np.concatenate([t.person[ok], t.husband[hus]])
                order = np.argsort(rows, kind="stable")
                keys, people = keys[order], people[order]
            else:
                keys, people = t.key[ok], t.person[ok]
            src.append(np.full(keys.shape[0], s, dtype=T))
            rec.append(keys)
            per.append(pid[people])
        return {"source": np.concatenate(src), "record_id": np.concatenate(rec),
                "person_id": np.concatenate(per)}

    def broken_rows(self) -> dict[str, np.ndarray]:
        cols: dict[str, list] = {k: [] for k in
                                 ("source", "file", "line_no", "record_id", "person_id", "expected_rule")}
        for s in SOURCES:
            t = self.tables[s]
            rows = np.flatnonzero(t.broken != "")
            n = rows.size
            cols["source"].append(np.full(n, s, dtype=T))
            cols["file"].append(np.full(n, t.file_name, dtype=T))
            cols["line_no"].append(strs(rows + 2))  # header is line (or sheet row) 1
            cols["record_id"].append(t.key[rows])
            cols["person_id"].append(self.population.person_id[t.person[rows]])
            cols["expected_rule"].append(t.broken[rows])
        return {k: np.concatenate(v).astype(T) for k, v in cols.items()}

    def dirt(self) -> dict[str, np.ndarray]:
        """Every corruption applied to a loaded record: source, record_id, field, kind."""
        cols: dict[str, list] = {"source": [], "record_id": [], "field": [], "kind": []}
        for source, rows, field_name, kind in self.dirt_log.parts:
            t = self.tables[source]
            rows = rows[t.broken[rows] == ""]
            key = t.key[rows]
            if source == "family_planning":
                key = cat(key, "-M" if field_name.startswith("男方") else "-F")
            cols["source"].append(np.full(rows.size, source, dtype=T))
            cols["record_id"].append(key)
            cols["field"].append(np.full(rows.size, field_name, dtype=T))
            cols["kind"].append(np.full(rows.size, kind, dtype=T))
        out = {k: np.concatenate(v).astype(T) if v else empty(0) for k, v in cols.items()}
        rank = np.zeros(out["source"].shape[0], np.int64)
        for i, s in enumerate(SOURCES):
            rank[out["source"] == s] = i
        order = np.lexsort((out["kind"], out["field"], out["record_id"], rank))
        return {k: v[order] for k, v in out.items()}

    def record_counts(self) -> dict[str, dict[str, int]]:
        truth = self.truth()
        out = {}
        for s in SOURCES:
            t = self.tables[s]
            out[s] = {"rows": len(t), "broken_rows": int((t.broken != "").sum()),
                      "records": int((truth["source"] == s).sum())}
        return out


def generate_district(n_residents: int, seed: int, snapshot_date: dt.date | str,
                      dirt_multiplier: float = 1.0) -> District:
    """A seeded synthetic district: same arguments, same district, byte for byte."""
    if n_residents < 1:
        raise ValueError("n_residents must be positive")
    if dirt_multiplier < 0:
        raise ValueError("dirt_multiplier must be >= 0")
    day = dt.date.fromisoformat(snapshot_date) if isinstance(snapshot_date, str) else snapshot_date
    pop = generate_population(n_residents, seed, np.datetime64(day.isoformat(), "D"))
    log = DirtLog()
    ctx = Ctx(pop, seed, float(dirt_multiplier), log, day.strftime("%Y%m%d"))
    tables = {s: BUILDERS[s](ctx) for s in SOURCES}
    for s in SOURCES:
        if tables[s].protected is None:
            tables[s].protected = np.zeros(len(tables[s]), bool)
    _household_member_ids(ctx, tables)
    _former_names_used(ctx, tables)
    for s in SOURCES:
        break_rows(tables[s], stream(seed, s + ".broken"), dirt_multiplier,
                   truncate_last=(s == "police"))
    return District(n_residents, seed, day, float(dirt_multiplier), pop, tables, log)


# --- hard cases that live in one record ------------------------------------------------

OTHER_SOURCES = ("civil_affairs", "labour", "family_planning", "social_security")


def _text(values: np.ndarray) -> np.ndarray:
    if values.dtype == object:
        return np.array([v if isinstance(v, str) else "" for v in values.tolist()], dtype=T)
    return values


def _candidates(tables, column_of, ok_fn):
    src, rows = [], []
    for s in OTHER_SOURCES:
        t = tables[s]
        r = np.flatnonzero(ok_fn(s, t, _text(t.data[column_of[s]])) & ~t.protected)
        src.append(np.full(r.size, SOURCES.index(s)))
        rows.append(r)
    return np.concatenate(src), np.concatenate(rows)


def _plant(ctx: Ctx, tables: dict[str, SourceTable], case: str, column_of: dict[str, str], ok_fn,
           new_value) -> None:
    """Write hard case ``case`` into up to its quota of cells: picked at random among the cells
    ``ok_fn`` accepts, each replaced by ``new_value(t, p, rng)`` (None: leave that one alone),
    protected from later dirt, logged and flagged on the person."""
    pop = ctx.pop
    k = hard_case_count(case, pop.n_active)
    if not k:
        return
    rng = ctx.rng(case)
    src, rows = _candidates(tables, column_of, ok_fn)
    if not rows.size:
        return
    pick = rng.choice(rows.size, size=min(k, rows.size), replace=False)
    for j in np.sort(pick).tolist():
        t = tables[SOURCES[src[j]]]
        r = int(rows[j])
        p = int(t.person[r])
        value = new_value(t, p, rng)
        if value is None:
            continue
        t.data[column_of[t.source]][r] = value
        t.protected[r] = True
        ctx.log.add(t.source, [r], column_of[t.source], case)
        pop.flag(case, p)


def _household_member_ids(ctx: Ctx, tables: dict[str, SourceTable]) -> None:
    """A household member's ID number typed into someone's record."""
    pop = ctx.pop
    starts = np.searchsorted(pop.household, np.arange(pop.hh_number.shape[0]))
    size = np.bincount(pop.household)

    def ok(s, t, ids):
        p = t.person
        return (ids == pop.id_number[p]) & (pop.doc_type[p] == RESIDENT_ID) & (size[pop.household[p]] >= 2)

    def other_members_id(t, p, rng):
        h = int(pop.household[p])
        members = [m for m in range(starts[h], starts[h] + size[h])
                   if m != p and pop.doc_type[m] == RESIDENT_ID and pop.id_number[m] != pop.id_number[p]]
        if not members:
            return None
        return str(pop.id_number[members[int(rng.integers(0, len(members)))]])

    _plant(ctx, tables, "id_of_household_member", ID_COLUMN, ok, other_members_id)


def _former_names_used(ctx: Ctx, tables: dict[str, SourceTable]) -> None:
    """Another department still has the name the person used before (曾用名)."""
    pop = ctx.pop

    def ok(s, t, names):
        p = t.person
        return (pop.former_name[p] != "") & (names == pop.name[p])

    _plant(ctx, tables, "former_name_used", NAME_COLUMN, ok, lambda t, p, rng: str(pop.former_name[p]))
