"""Golden records (survivorship) and stable resident IDs, as SQL over the clustered records.

    golden_records_sql()                                # the clustered records, narrow
    golden_sql("match_golden_records")                  # one row per cluster
    resident_ids_sql(previous="prev.resident_xref")     # cluster -> resident_id

**Survivorship** (``FIELDS``): each field of a resident comes from one record of its
cluster, chosen by the field's ordering — a valid ID over an invalid one, the police for
residence, address and population type, the latest-registered record for contact. The
record that won is kept for every field (``provenance``: field -> record_uid), so an
auditor can always see where a value came from.

**Status** is decided over all the cluster's records: ``deceased`` when the police
cancelled a registration for death or civil affairs reports a death (the earliest such
date), ``moved_out`` when every police registration is cancelled for moving out (or civil
affairs says so) and nothing says deceased, ``active`` otherwise. A police
``duplicate_registration`` cancellation says nothing about the person.

**Resident IDs** stay stable across runs: a cluster takes the previous resident ID most
of its records had (each previous ID goes to one cluster only: the one holding most of its
records); a cluster with none gets a new ID derived from its smallest record_uid.
"""

from __future__ import annotations

from dataclasses import dataclass

from shiyou.matching.blocking import Statement, qname
from shiyou.sql import literal, quote_ident

# Who is trusted first where nothing more specific decides (police: the 实有人口 register).
SOURCE_RANK = {"police": 1, "social_security": 2, "civil_affairs": 3, "labour": 4, "family_planning": 5}

#: An ordering term standing for "records of the cluster carrying this value, most first".
VOTES = "votes"


def newest_first(column: str) -> str:
    """An ascending sort term that puts the most recent date first and a missing one last."""
    return f"coalesce(date_diff('day', {column}, DATE '9999-12-31'), 9999999)"


@dataclass(frozen=True)
class Field:
    name: str  # column of residents
    value: str  # SQL over the record (alias r)
    order: tuple[str, ...]  # sort terms over the record's columns (ascending: best first) and VOTES
    where: str = "TRUE"  # records allowed to supply it (alias r)
    why: str = ""

    @property
    def voted(self) -> bool:
        return VOTES in self.order

    @property
    def eligible(self) -> str:
        """SQL over the record (alias r): it may supply the field (a value its ``where`` allows)."""
        return f"{self.value} IS NOT NULL AND ({self.where})"


_TRUSTED_ID = "CASE WHEN id_anchor IS NOT NULL THEN 0 ELSE 1 END"
_CURRENT = "CASE WHEN registration_cancelled THEN 1 ELSE 0 END"
FIELDS = [
    Field("id_number", "r.id_number", (VOTES, "source_rank"),
          where="r.id_valid AND r.id_type = 'resident_id'",
          why="a valid resident ID that agrees with its record's birth and sex first, then the one most records carry"),
    Field("name", "r.name_norm", (_TRUSTED_ID, "source_rank", VOTES),
          why="the police spelling among records with a trusted ID, then the most common"),
    Field("sex", "r.sex", (_TRUSTED_ID, "source_rank", VOTES),
          where="r.sex IN ('1', '2')", why="as for the name; unknown codes never win"),
    Field("birth_date", "r.birth_date",
          ("CASE WHEN id_anchor IS NOT NULL AND birth_date = id_birth_date THEN 0 ELSE 1 END", "source_rank", VOTES),
          why="a date that agrees with a trusted ID first"),
    Field("population_type", "r.population_type", (_CURRENT, "source_rank", newest_first("snapshot_date")),
          why="the police's current registration"),
    Field("address", "r.address", (_CURRENT, "source_rank", newest_first("snapshot_date")),
          why="the police's current registration, then the other sources"),
    Field("address_code", "r.address_code", (_CURRENT, newest_first("snapshot_date")),
          why="police standard address (DZBM)"),
    Field("household_id", "r.household_id", (_CURRENT, newest_first("snapshot_date")),
          why="police household of the current registration"),
    Field("phone", "r.phone", ("CASE WHEN snapshot_stale THEN 1 ELSE 0 END", newest_first("registered_on"),
                               "CASE WHEN phone_type = 'mobile' THEN 0 ELSE 1 END", "source_rank"),
          why="the most recent contact (latest registration), mobiles before landlines; a source whose "
              "snapshot is stale loses"),
]
#: A record's snapshot is stale when it is this many days older than the newest snapshot in the
#: warehouse (a department that stopped delivering). Fresher snapshots are all equal: a source
#: that delivered yesterday rather than today has not got older phone numbers, and ranking by
#: delivery date flipped the phone of every resident it shares with a later source each night
#: (65,642 phone_changed events at 1M when one of five sources kept yesterday's snapshot).
STALE_AFTER_DAYS = 30
RECORD_COLUMNS = ["record_uid", "source", "snapshot_date", "name_norm", "id_number", "id_type",
                  "id_valid", "id_birth_date", "sex", "birth_date", "population_type", "address",
                  "address_code", "household_id", "phone", "phone_type", "registered_on", "registration_cancelled",
                  "status", "status_date"]


def _rank_sql() -> str:
    whens = " ".join(f"WHEN {literal(s)} THEN {n}" for s, n in SOURCE_RANK.items())
    return f"CASE s.source {whens} ELSE 9 END"


def golden_records_sql(records: str = "source_records", clusters: str = "match_clusters") -> str:
    """The narrow input of survivorship: each clustered record with the columns FIELDS and the
    status read (materialised once: every field reads it), its ``id_anchor`` and
    ``cluster_records`` (how many records its cluster has), both from the clusters."""
    cols = ", ".join(f"s.{quote_ident(c)}" for c in RECORD_COLUMNS)
    stale = f"coalesce(date_diff('day', s.snapshot_date, n.newest) > {STALE_AFTER_DAYS}, false) AS snapshot_stale"
    return (f"SELECT c.cluster_no, c.cluster_records, {cols}, c.id_anchor, {_rank_sql()} AS source_rank, {stale} "
            f"FROM {qname(clusters)} AS c "
            f"JOIN {qname(records)} AS s ON s.record_uid = c.record_uid "
            f"CROSS JOIN (SELECT max(snapshot_date) AS newest FROM {qname(records)}) AS n")


def _winner_sql(f: Field, src: str) -> str:
    """cluster_no, value, record_uid of the record that supplies field ``f`` of each cluster.

    Only the columns the field's ordering reads go through the window (sorting the
    whole record nine times was what made survivorship slow at 1M residents), partitioned by
    the cluster's number (an integer partitions a fifth faster than the text cluster_id).
    """
    terms = [t for t in f.order if t != VOTES]
    keys = "".join(f", {t} AS k{j}" for j, t in enumerate(terms))
    votes = f", count(*) OVER (PARTITION BY cluster_no, {f.value}) AS votes" if f.voted else ""
    cand = (f"SELECT cluster_no, {f.value} AS value, record_uid{keys}{votes} FROM {src} AS r "
            f"WHERE {f.eligible}")
    at = iter(range(len(terms)))
    order = ", ".join("-votes" if t == VOTES else f"k{next(at)}" for t in f.order)
    return (f"SELECT cluster_no, value, record_uid FROM (SELECT cluster_no, value, record_uid, row_number() OVER ("
            f"PARTITION BY cluster_no ORDER BY {order}, record_uid) AS k FROM ({cand}) AS c) AS x WHERE k = 1")


#: Up to this many sources, a resident's ``sources`` list is looked up from a bit mask (one row
#: per combination of sources: 2^n - 1); beyond it, it is collected as a list.
MASKED_SOURCES_MAX = 10


def _contract_sources() -> list[str]:
    from shiyou.contracts.model import default_contracts

    return [c.source for c in default_contracts()]


def _sources_sql(sources: list[str] | None) -> tuple[str, str, str]:
    """(aggregate over a cluster's records, the ``sources`` output, the join it needs).

    Collecting each cluster's sources as a list and then sorting and de-duplicating it was a
    third of the status aggregate at 1M residents; a bit per source (``bit_or``) is an integer
    state, and the 31 possible lists of five sources are one small table to join."""
    names = sorted(set(sources or _contract_sources()))
    if len(names) > MASKED_SOURCES_MAX:
        return "list_sort(list_distinct(list(source))) AS sources", "g.sources", ""
    bits = " ".join(f"WHEN {literal(s)} THEN {1 << i}" for i, s in enumerate(names))
    lists = ", ".join(f"({m}, [{', '.join(literal(s) for i, s in enumerate(names) if m >> i & 1)}])"
                      for m in range(1, 1 << len(names)))
    return (f"bit_or(CASE source {bits} END) AS source_mask", "sm.sources",
            f"LEFT JOIN (VALUES {lists}) AS sm(mask, sources) ON sm.mask = g.source_mask")


def golden_sql(golden_records: str = "match_golden_records", sources: list[str] | None = None) -> str:
    """One row per cluster: cluster_no, every FIELDS column, status, status_date, records,
    sources and provenance (JSON field -> record_uid); ties go to the smallest record_uid.
    ``sources``: every source the records may come from (default: the source contracts'); a
    record from a source not listed would be missing from its resident's ``sources``.

    A resident of one record (≈ 28 % of them at 1M, 13 % of the records) takes every field
    from that record where the field's ``where`` allows: only the clusters of several records
    go through the windows (the statement: 7.7 against 9.8–10.2 CPU-seconds at 1M residents)."""
    src = qname(golden_records)
    source_agg, sources_out, sources_join = _sources_sql(sources)
    status = (f"SELECT cluster_no, count(*) AS records, {source_agg}, "
              "min(status_date) FILTER (WHERE status = 'deceased') AS died_on, "
              "count(*) FILTER (WHERE status = 'deceased' AND source IN ('police', 'civil_affairs')) AS deaths, "
              "count(*) FILTER (WHERE source = 'police' AND NOT coalesce(registration_cancelled, false)) "
              "AS police_active, "
              "count(*) FILTER (WHERE status = 'moved_out' AND source IN ('police', 'civil_affairs')) AS moves, "
              f"max(status_date) FILTER (WHERE status = 'moved_out') AS moved_on FROM {src} GROUP BY cluster_no")
    several = f"(SELECT * FROM {src} WHERE cluster_records > 1)"
    ctes, joins = [f"g AS ({status})"], [sources_join] if sources_join else []
    outs, prov, alone, alone_prov = [], [], [], []
    for i, f in enumerate(FIELDS):
        ctes.append(f"f{i} AS ({_winner_sql(f, several)})")
        joins.append(f"LEFT JOIN f{i} ON f{i}.cluster_no = g.cluster_no")
        outs.append(f"f{i}.value AS {quote_ident(f.name)}")
        prov.append(f"{literal(f.name)}, f{i}.record_uid")
        alone.append(f"CASE WHEN {f.eligible} THEN {f.value} END AS {quote_ident(f.name)}")
        alone_prov.append(f"{literal(f.name)}, CASE WHEN {f.eligible} THEN r.record_uid END")
    state = ("CASE WHEN g.deaths > 0 THEN 'deceased' WHEN g.moves > 0 AND g.police_active = 0 THEN 'moved_out' "
             "ELSE 'active' END")
    state_date = ("CASE WHEN g.deaths > 0 THEN g.died_on WHEN g.moves > 0 AND g.police_active = 0 THEN g.moved_on END")
    tail = f"{state} AS status, {state_date} AS status_date, g.records, {sources_out} AS sources"
    return (f"WITH {', '.join(ctes)} "
            f"SELECT g.cluster_no, {', '.join(outs)}, {tail}, "
            f"CAST(json_object({', '.join(prov)}) AS VARCHAR) AS provenance FROM g {' '.join(joins)} "
            f"WHERE g.records > 1 UNION ALL "
            f"SELECT g.cluster_no, {', '.join(alone)}, {tail}, "
            f"CAST(json_object({', '.join(alone_prov)}) AS VARCHAR) AS provenance FROM g "
            f"JOIN {src} AS r ON r.cluster_no = g.cluster_no AND r.cluster_records = 1 "
            f"{sources_join}")


def mint_sql(cluster_id: str) -> str:
    """A new resident ID: R + 15 hex digits of the digest of the cluster's smallest record_uid
    (record keys, not personal data; the same input always gives the same ID)."""
    return f"'R' || upper(substr(md5({cluster_id}), 1, 15))"


def resident_ids_sql(clusters: str = "match_clusters", previous: str | None = None) -> str:
    """cluster_no, cluster_id -> resident_id. ``previous``: the last release's resident_xref (or None)."""
    if previous is None:
        return (f"SELECT DISTINCT cluster_no, cluster_id, {mint_sql('cluster_id')} AS resident_id "
                f"FROM {qname(clusters)}")
    overlap = (f"SELECT c.cluster_id, p.resident_id, count(*) AS n FROM {qname(clusters)} AS c "
               f"JOIN {qname(previous)} AS p ON p.record_uid = c.record_uid "
               f"GROUP BY c.cluster_id, p.resident_id")
    # Each previous ID to the cluster holding most of its records; each cluster its best remaining ID.
    best_for_id = ("SELECT cluster_id, resident_id, n FROM (SELECT *, row_number() OVER (PARTITION BY resident_id "
                   "ORDER BY n DESC, cluster_id) AS k FROM overlap) AS x WHERE k = 1")
    best_for_cluster = ("SELECT cluster_id, resident_id FROM (SELECT *, row_number() OVER (PARTITION BY cluster_id "
                        "ORDER BY n DESC, resident_id) AS k FROM best_for_id) AS y WHERE k = 1")
    minted = mint_sql("c.cluster_id")
    return (f"WITH overlap AS ({overlap}), best_for_id AS ({best_for_id}), kept AS ({best_for_cluster}), "
            f"used AS (SELECT DISTINCT resident_id FROM {qname(previous)}) "
            f"SELECT c.cluster_no, c.cluster_id, coalesce(k.resident_id, CASE WHEN {minted} IN (SELECT resident_id FROM used) "
            f"THEN {mint_sql(literal('#') + ' || c.cluster_id')} ELSE {minted} END) AS resident_id "
            f"FROM (SELECT DISTINCT cluster_no, cluster_id FROM {qname(clusters)}) AS c LEFT JOIN kept AS k "
            f"ON k.cluster_id = c.cluster_id")


def statements(dialect: str = "duckdb") -> list[Statement]:
    """Survivorship and resident IDs. They use no rule-language functions, so another engine
    gets them through SQLGlot's own DuckDB translation."""
    out = [Statement("golden.records", golden_records_sql()), Statement("golden.residents", golden_sql()),
           Statement("golden.resident_ids_first_run", resident_ids_sql()),
           Statement("golden.resident_ids", resident_ids_sql(previous="prev.resident_xref"))]
    if dialect == "duckdb":
        return out
    import sqlglot

    return [Statement(s.name, sqlglot.transpile(s.sql, read="duckdb", write=dialect)[0]) for s in out]
