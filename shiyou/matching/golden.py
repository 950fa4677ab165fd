"""Golden records (survivorship) and stable resident IDs, as SQL over the clustered records.

    golden_sql(records="source_records", clusters="match_clusters")   # one row per cluster
    resident_ids_sql(previous="prev.resident_xref")                   # cluster_id -> resident_id

**Survivorship** (``FIELDS``): each field of a resident comes from one record of its
cluster, chosen by the field's ordering — a valid ID over an invalid one, the police for
residence, address and population type, the most recent record for contact. The
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

from shiyou.matching.blocking import qname
from shiyou.sql import literal, quote_ident

# Who is trusted first where nothing more specific decides (police: the 实有人口 register).
SOURCE_RANK = {"police": 1, "social_security": 2, "civil_affairs": 3, "labour": 4, "family_planning": 5}


@dataclass(frozen=True)
class Field:
    name: str  # column of residents
    value: str  # SQL over the record (alias r)
    order: str  # ORDER BY over the record's columns and ``votes`` (records of the cluster with this value), best first
    where: str = "TRUE"  # records allowed to supply it (alias r)
    why: str = ""


_VALID_ID = "id_anchor IS NOT NULL"
FIELDS = [
    Field("id_number", "r.id_number", "votes DESC, source_rank",
          where="r.id_valid AND r.id_type = 'resident_id'",
          why="a valid resident ID that agrees with its record's birth and sex first, then the one most records carry"),
    Field("name", "r.name_norm", f"CASE WHEN {_VALID_ID} THEN 0 ELSE 1 END, source_rank, votes DESC",
          why="the police spelling among records with a trusted ID, then the most common"),
    Field("sex", "r.sex", f"CASE WHEN {_VALID_ID} THEN 0 ELSE 1 END, source_rank, votes DESC",
          where="r.sex IN ('1', '2')", why="as for the name; unknown codes never win"),
    Field("birth_date", "r.birth_date", f"CASE WHEN {_VALID_ID} AND birth_date = id_birth_date THEN 0 "
          f"ELSE 1 END, source_rank, votes DESC", why="a date that agrees with a trusted ID first"),
    Field("population_type", "r.population_type",
          "CASE WHEN registration_cancelled THEN 1 ELSE 0 END, source_rank, snapshot_date DESC",
          why="the police's current registration"),
    Field("address", "r.address", "CASE WHEN registration_cancelled THEN 1 ELSE 0 END, source_rank, "
          "snapshot_date DESC", why="the police's current registration, then the other sources"),
    Field("address_code", "r.address_code", "CASE WHEN registration_cancelled THEN 1 ELSE 0 END, "
          "snapshot_date DESC", why="police standard address (DZBM)"),
    Field("household_id", "r.household_id", "CASE WHEN registration_cancelled THEN 1 ELSE 0 END, "
          "snapshot_date DESC", why="police household of the current registration"),
    Field("phone", "r.phone", "snapshot_date DESC, registered_on DESC NULLS LAST, "
          "CASE WHEN phone_type = 'mobile' THEN 0 ELSE 1 END, source_rank",
          why="the most recent contact, mobiles before landlines"),
]
RECORD_COLUMNS = ["record_uid", "source", "record_id", "snapshot_date", "name_norm", "id_number", "id_type",
                  "id_valid", "id_birth_date", "id_sex", "sex", "birth_date", "population_type", "address",
                  "address_code", "household_id", "phone", "phone_type", "registered_on", "registration_cancelled",
                  "status", "status_date"]


def _rank_sql() -> str:
    whens = " ".join(f"WHEN {literal(s)} THEN {n}" for s, n in SOURCE_RANK.items())
    return f"CASE r.source {whens} ELSE 9 END"


def golden_sql(records: str = "source_records", clusters: str = "match_clusters",
               match_records: str = "match_records") -> str:
    """One row per cluster: cluster_id, every FIELDS column, status, status_date, records,
    sources and provenance (JSON field -> record_uid)."""
    cols = ", ".join(f"s.{quote_ident(c)}" for c in RECORD_COLUMNS)
    base = (f"SELECT c.cluster_id, {cols}, m.id_anchor FROM {qname(clusters)} AS c "
            f"JOIN {qname(records)} AS s ON s.record_uid = c.record_uid "
            f"JOIN {qname(match_records)} AS m ON m.record_uid = c.record_uid")
    ctes = [f"r0 AS ({base})",
            f"r AS (SELECT r.*, {_rank_sql()} AS source_rank FROM r0 AS r)"]
    joins, outs, prov = [], [], []
    for i, f in enumerate(FIELDS):
        cand = (f"SELECT r.*, {f.value} AS value, count(*) OVER (PARTITION BY r.cluster_id, {f.value}) AS votes "
                f"FROM r WHERE {f.value} IS NOT NULL AND ({f.where})")
        ctes.append(f"f{i} AS (SELECT cluster_id, value, record_uid FROM (SELECT *, row_number() OVER ("
                    f"PARTITION BY cluster_id ORDER BY {f.order}, record_uid) AS k FROM ({cand}) AS c) AS x WHERE k = 1)")
        joins.append(f"LEFT JOIN f{i} ON f{i}.cluster_id = g.cluster_id")
        outs.append(f"f{i}.value AS {quote_ident(f.name)}")
        prov.append(f"{literal(f.name)}, f{i}.record_uid")
    status = ("SELECT cluster_id, count(*) AS records, "
              "list_sort(list_distinct(list(source))) AS sources, "
              "min(status_date) FILTER (WHERE status = 'deceased') AS died_on, "
              "count(*) FILTER (WHERE status = 'deceased' AND source IN ('police', 'civil_affairs')) AS deaths, "
              "count(*) FILTER (WHERE source = 'police' AND NOT coalesce(registration_cancelled, false)) AS police_active, "
              "count(*) FILTER (WHERE status = 'moved_out' AND source IN ('police', 'civil_affairs')) AS moves, "
              "max(status_date) FILTER (WHERE status = 'moved_out') AS moved_on "
              "FROM r GROUP BY cluster_id")
    ctes.append(f"g AS ({status})")
    state = ("CASE WHEN g.deaths > 0 THEN 'deceased' WHEN g.moves > 0 AND g.police_active = 0 THEN 'moved_out' "
             "ELSE 'active' END")
    state_date = ("CASE WHEN g.deaths > 0 THEN g.died_on WHEN g.moves > 0 AND g.police_active = 0 THEN g.moved_on END")
    return (f"WITH {', '.join(ctes)} SELECT g.cluster_id, {', '.join(outs)}, {state} AS status, "
            f"{state_date} AS status_date, g.records, g.sources, "
            f"CAST(json_object({', '.join(prov)}) AS VARCHAR) AS provenance FROM g {' '.join(joins)}")


def mint_sql(cluster_id: str) -> str:
    """A new resident ID: R + 15 hex digits of the digest of the cluster's smallest record_uid
    (record keys, not personal data; the same input always gives the same ID)."""
    return f"'R' || upper(substr(md5({cluster_id}), 1, 15))"


def resident_ids_sql(clusters: str = "match_clusters", previous: str | None = None) -> str:
    """cluster_id -> resident_id. ``previous``: the last release's resident_xref (or None)."""
    if previous is None:
        return f"SELECT DISTINCT cluster_id, {mint_sql('cluster_id')} AS resident_id FROM {qname(clusters)}"
    overlap = (f"SELECT c.cluster_id, p.resident_id, count(*) AS n FROM {qname(clusters)} AS c "
               f"JOIN {qname(previous)} AS p ON p.source || ':' || p.record_id = c.record_uid "
               f"GROUP BY c.cluster_id, p.resident_id")
    # Each previous ID to the cluster holding most of its records; each cluster its best remaining ID.
    best_for_id = ("SELECT cluster_id, resident_id, n FROM (SELECT *, row_number() OVER (PARTITION BY resident_id "
                   "ORDER BY n DESC, cluster_id) AS k FROM overlap) AS x WHERE k = 1")
    best_for_cluster = ("SELECT cluster_id, resident_id FROM (SELECT *, row_number() OVER (PARTITION BY cluster_id "
                        "ORDER BY n DESC, resident_id) AS k FROM best_for_id) AS y WHERE k = 1")
    minted = mint_sql("c.cluster_id")
    return (f"WITH overlap AS ({overlap}), best_for_id AS ({best_for_id}), kept AS ({best_for_cluster}), "
            f"used AS (SELECT DISTINCT resident_id FROM {qname(previous)}) "
            f"SELECT c.cluster_id, coalesce(k.resident_id, CASE WHEN {minted} IN (SELECT resident_id FROM used) "
            f"THEN {mint_sql(literal('#') + ' || c.cluster_id')} ELSE {minted} END) AS resident_id "
            f"FROM (SELECT DISTINCT cluster_id FROM {qname(clusters)}) AS c LEFT JOIN kept AS k "
            f"ON k.cluster_id = c.cluster_id")
