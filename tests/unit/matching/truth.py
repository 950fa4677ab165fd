"""Ground truth of a generated district, as DuckDB tables, and blocking recall against it.

Used by the tests (on data_samples) and by ``measure.py`` (on a generated 100k district).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path


def load_truth(con, truth_dir: Path) -> None:
    """Tables truth (record_uid, record_no, person_id), truth_pairs (every same-person pair,
    record_no_l < record_no_r) and persons (person_id, flags). Blocking must have run: record_no
    comes from match_records (null for a record that was not loaded)."""
    con.execute("CREATE OR REPLACE TABLE truth AS SELECT t.record_uid, m.record_no, t.person_id FROM "
                "(SELECT source || ':' || record_id AS record_uid, person_id FROM read_csv(?, all_varchar = true)) t "
                "LEFT JOIN match_records m USING (record_uid)", [str(truth_dir / "truth.csv")])
    con.execute("CREATE OR REPLACE TABLE persons AS SELECT person_id, coalesce(flags, '') AS flags "
                "FROM read_csv(?, all_varchar = true)", [str(truth_dir / "persons.csv")])
    # record_no keeps record_uid's order, so ordering by uid gives record_no_l < record_no_r.
    con.execute("CREATE OR REPLACE TABLE truth_pairs AS SELECT a.record_no AS record_no_l, "
                "b.record_no AS record_no_r, a.record_uid AS record_uid_l, b.record_uid AS record_uid_r, "
                "a.person_id FROM truth a JOIN truth b "
                "ON a.person_id = b.person_id AND a.record_uid < b.record_uid")


def recall(con, pairs: str = "match_pairs") -> dict:
    """True pairs found by blocking, overall and per first rule; missed pairs by kind of record."""
    total, found = con.execute(
        f"SELECT count(*), count(p.record_no_l) FROM truth_pairs t LEFT JOIN {pairs} p "
        f"USING (record_no_l, record_no_r)").fetchall()[0]
    n_pairs, true_in_pairs = con.execute(
        f"SELECT count(*), count(t.person_id) FROM {pairs} p LEFT JOIN truth_pairs t "
        f"USING (record_no_l, record_no_r)").fetchall()[0]
    return {"true_pairs": total, "found": found, "recall": found / total if total else 1.0,
            "candidate_pairs": n_pairs, "true_share_of_candidates": true_in_pairs / n_pairs if n_pairs else 0.0}


def missed(con, pairs: str = "match_pairs", limit: int = 50) -> list[tuple]:
    """A few missed true pairs with the fields that explain why (for looking at, not for logs)."""
    return con.execute(
        f"SELECT t.record_uid_l, t.record_uid_r, l.name_norm, r.name_norm, l.id_status, r.id_status, l.birth_date, "
        f"r.birth_date, l.phone = r.phone, l.address_key, r.address_key FROM truth_pairs t "
        f"ANTI JOIN {pairs} p USING (record_no_l, record_no_r) "
        f"JOIN match_records l ON l.record_no = t.record_no_l JOIN match_records r ON r.record_no = t.record_no_r "
        f"LIMIT {limit}").fetchall()


def union_find(edges) -> Callable[[Hashable], Hashable]:
    """The connected components of ``edges`` ((a, b, …) rows): a function giving each node its
    component's root (a node on no edge is its own)."""
    parent: dict = {}

    def find(x):
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for a, b, *_ in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    return find


def reachable_recall(con, pairs: str = "match_pairs") -> dict:
    """True pairs whose two records are joined by a chain of true candidate pairs.

    Clustering can only put two records together if such a chain exists, so this is the
    recall blocking leaves to the later steps (pairwise recall above understates it: a
    husband found through his police record reaches his labour record through it).
    """
    edges = con.execute(f"SELECT p.record_no_l, p.record_no_r FROM {pairs} p JOIN truth_pairs t "
                        f"USING (record_no_l, record_no_r)").fetchall()
    find = union_find(edges)
    groups: dict[tuple, int] = {}
    sizes: dict[str, int] = {}
    # A record that was not loaded (no record_no) is a part of its own.
    for uid, no, person in con.execute("SELECT record_uid, record_no, person_id FROM truth").fetchall():
        key = (person, find(no) if no is not None else uid)
        groups[key] = groups.get(key, 0) + 1
        sizes[person] = sizes.get(person, 0) + 1
    parts: dict[str, int] = {}
    for person, _ in groups:
        parts[person] = parts.get(person, 0) + 1
    total = sum(n * (n - 1) // 2 for n in sizes.values())
    joined = sum(n * (n - 1) // 2 for n in groups.values())
    return {"true_pairs": total, "reachable": joined, "reachable_recall": joined / total if total else 1.0,
            "persons_split": sum(1 for n in parts.values() if n > 1)}
