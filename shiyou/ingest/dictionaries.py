"""Value dictionaries for the Chinese-aware normalisers: each distinct name or address is
normalised once, ever, and looked up by join.

A district repeats the same spellings across sources and from night to night,
so the dictionaries live in the release database (`_dictionary_names`,
`_dictionary_addresses`) and the next run starts from the previous release's.
Each is stamped with a version: a hash of the normaliser code and the tables it
reads, so changing either starts a fresh dictionary.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from functools import lru_cache

import duckdb
import pandas as pd
import pyarrow as pa

from shiyou.paths import CODES_DIR, ROOT
from shiyou.sql import column_ddl, literal, quote_ident, table_exists
from shiyou.standard.elements import storage_compression

NAME_COLUMNS = ["name_norm", "name_key", "name_pinyin", "name_pinyin_fuzzy", "name_surname", "name_is_minority"]
ADDRESS_PARTS = ["province", "city", "district", "street", "community", "road", "door_number", "estate",
                 "building", "unit", "floor", "room"]
ADDRESS_COLUMNS = ["address_norm", *ADDRESS_PARTS, "address_key"]
BOOLEAN = {"name_is_minority"}
_INPUTS = ["shiyou/standard/names.py", "shiyou/standard/addresses.py", "shiyou/standard/chinese.py"]
#: Sources are ingested concurrently (sync.ingest_sources) and share the dictionaries: one filler
#: at a time, so a value two sources both bring is normalised and inserted once (a duplicate would
#: double the records that join to it). The other source's DuckDB work goes on meanwhile.
_FILL_LOCK = threading.Lock()


def _normaliser(kind: str):
    if kind == "names":
        from shiyou.standard.names import normalise_names

        return normalise_names, NAME_COLUMNS
    from shiyou.standard.addresses import normalise_addresses

    return normalise_addresses, ADDRESS_COLUMNS


@lru_cache(maxsize=1)
def version() -> str:
    h = hashlib.sha256()
    for rel in _INPUTS:
        h.update((ROOT / rel).read_bytes())
    for table in ("surname_pinyin.csv", "gb2260_divisions.csv"):
        path = CODES_DIR / table
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def table(kind: str) -> str:
    return f"_dictionary_{kind}"


def prepare_in_background(con: duckdb.DuckDBPyConnection, previous_db: str | None) -> Callable[[], BaseException | None]:
    """Create both dictionaries, seeded from the previous release, before any source fills one:
    a source whose tables are created empty fills with no previous release, and whether it or
    a loading source came first would otherwise decide whether yesterday's dictionary is carried.

    The seeding runs on a thread of its own (``con`` is its own connection), so that copying
    yesterday's dictionaries (≈ 2 s at 1M residents) overlaps with the sources reading their
    files. The fill lock is taken before this returns and released when the seeding is done.
    Returns ``wait``, which joins the thread and returns its error, if any."""
    _FILL_LOCK.acquire()
    errors: list[BaseException] = []

    def seed() -> None:
        try:
            for kind in ("names", "addresses"):
                _ensure(con, kind, previous_db)
        except BaseException as exc:  # handed to wait(): the thread itself has no one to tell
            errors.append(exc)
        finally:
            _FILL_LOCK.release()

    thread = threading.Thread(target=seed, name="dictionaries", daemon=True)
    try:
        thread.start()
    except BaseException:  # no thread, no one to release the lock: every later fill would hang
        _FILL_LOCK.release()
        raise

    def wait() -> BaseException | None:
        thread.join()
        return errors[0] if errors else None

    return wait


def _ensure(con: duckdb.DuckDBPyConnection, kind: str, previous_db: str | None) -> None:
    t = quote_ident(table(kind))
    if table_exists(con, table(kind)):
        return
    _, cols = _normaliser(kind)
    # Stored as the standard stores the same columns of a source's records (the raw address, v,
    # as `address`).
    stored = storage_compression()
    stored["v"] = stored.get("address" if kind == "addresses" else "name")
    ddl = ", ".join(column_ddl(c, "BOOLEAN" if c in BOOLEAN else "VARCHAR", stored.get(c)) for c in ["v", *cols])
    con.execute(f"CREATE TABLE {t} ({ddl}, version VARCHAR)")  # unique by construction; an index costs seconds
    if previous_db:
        con.execute(f"ATTACH {literal(previous_db)} AS prev_dict (READ_ONLY)")
        try:
            if table_exists(con, table(kind), "prev_dict"):
                con.execute(f"INSERT INTO {t} SELECT * FROM prev_dict.{t} WHERE version = ?", [version()])
        finally:
            con.execute("DETACH prev_dict")


def fill(con: duckdb.DuckDBPyConnection, kind: str, relation: str, columns: list[str],
         previous_db: str | None = None) -> int:
    """Add the values of `columns` of `relation` that the dictionary lacks; returns how many were new."""
    with _FILL_LOCK:
        return _fill(con, kind, relation, columns, previous_db)


def _fill(con: duckdb.DuckDBPyConnection, kind: str, relation: str, columns: list[str],
          previous_db: str | None) -> int:
    _ensure(con, kind, previous_db)
    fn, cols = _normaliser(kind)
    t = quote_ident(table(kind))
    union = " UNION ".join(f"SELECT {quote_ident(c)} AS v FROM {quote_ident(relation)}" for c in columns)
    # An anti-join (values are never null on either side, so NOT IN would mean the same but
    # costs a null-aware mark join).
    new = con.sql(f"SELECT DISTINCT v FROM ({union}) s WHERE v IS NOT NULL "
                  f"AND NOT EXISTS (SELECT 1 FROM {t} d WHERE d.v = s.v)").to_arrow_table()["v"]
    if not len(new):
        return 0
    # Arrow end to end: the normalisers work on Arrow strings, and an Arrow table is
    # inserted without a pass through Python objects.
    values = new.combine_chunks().cast(pa.string())
    frame = fn(pd.Series(pd.arrays.ArrowStringArray(values)))[cols]
    arrays = {"v": values, **{c: pa.array(frame[c].array) for c in cols},
              "version": pa.array([version()] * len(values), pa.string())}
    con.register("__dict_new", pa.table(arrays))
    casts = ", ".join(f"CAST({quote_ident(c)} AS {'BOOLEAN' if c in BOOLEAN else 'VARCHAR'})" for c in cols)
    con.execute(f"INSERT INTO {t} SELECT v, {casts}, version FROM __dict_new")
    con.unregister("__dict_new")
    return len(values)
