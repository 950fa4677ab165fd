"""shiyou (实有): the five departments' resident lists, ingested, matched and published as one warehouse.

Importing the package sets one process-wide default before DuckDB is loaded (the CLI, the
Dagster definitions and the tests import shiyou before duckdb; the benchmarks' syncs run the CLI):

DuckDB allocates through its own jemalloc, built to hand freed pages back to the operating
system one second after they are freed (``dirty_decay_ms:1000``). A sync runs one large
statement after another, so the memory one statement frees was handed back and then faulted in,
zeroed, by the next: at 1M residents the kernel's page handling took ≈ 20 of the run's ≈ 135
CPU-seconds. Without the timed hand-back the next statement reuses those pages: the 1M full sync
is ≈ 3 s faster (69.4–70.6 s against 72.4–73.8 s, three runs each, alternated), with the same peak
RSS, as DuckDB's memory cap bounds what it holds. An idle process holds its pages either way
(the decay only advances while the allocator is busy: 1.35 GB were still held 12 s after a large
query, with the default as with this setting). A 30 s decay instead gave 69.2–73.8 s. A value
already in the environment wins.
"""

import os

#: jemalloc options read once, when DuckDB's allocator starts (its other options are kept).
DUCKDB_ALLOCATOR_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1"

os.environ.setdefault("DUCKDB_JE_MALLOC_CONF", DUCKDB_ALLOCATOR_CONF)
