"""Telling the machine running out of memory or disk from a fault of the data being processed.

A delivery that fails to load for a reason of its own is refused (and ignored when the same bytes
come again); a run that runs out of room fails instead, and loads the same files once rerun.
"""

from __future__ import annotations

import errno

import duckdb

MEMORY, DISK = "memory", "disk"

# DuckDB reports a spill folder that reached max_temp_directory_size (by default sized from the
# free disk) as out of memory, though the disk is what ran out.
_DISK_FULL = ("No space left on device", "Disk quota exceeded", "max_temp_directory_size")


def shortage_named(cls_name: str, message: str) -> str | None:
    """MEMORY or DISK when an exception of this class and message is the machine running out of
    it, else None (what Dagster keeps of an exception is its class name and message)."""
    if cls_name in ("OSError", "IOException", "OutOfMemoryException") and any(s in message for s in _DISK_FULL):
        return DISK
    return MEMORY if cls_name == "OutOfMemoryException" else None


def shortage(exc: BaseException) -> str | None:
    """As shortage_named, for an exception at hand."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DISK
    if isinstance(exc, (duckdb.OutOfMemoryException, duckdb.IOException)):
        return shortage_named(type(exc).__name__, str(exc))
    return None
