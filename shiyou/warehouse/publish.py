"""Atomic publishing of the warehouse folder.

Layout (readers use the first two names only)::

    DIR/shiyou.duckdb -> current/shiyou.duckdb
    DIR/parquet       -> current/parquet
    DIR/current       -> releases/r000042
    DIR/releases/r000042/{shiyou.duckdb, parquet/<table>/...}

A publish builds a complete release beside the live one, then swaps the
`current` link with one rename (atomic on POSIX). Killed at any moment, the
folder shows either the old release or the new one — the DuckDB file and the
Parquet folder always from the same publish — and a reader that opened the
old file keeps reading it until it closes it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

RELEASES = "releases"
CURRENT = "current"
DB_NAME = "shiyou.duckdb"
PARQUET = "parquet"
_RELEASE = re.compile(r"r(\d{6})")


class PublishError(Exception):
    pass


def current_release(warehouse: Path) -> Path | None:
    link = warehouse / CURRENT
    if not link.is_symlink():
        return None
    target = (warehouse / os.readlink(link)).resolve()
    return target if (target / DB_NAME).is_file() else None


def published_db(warehouse: Path) -> Path | None:
    rel = current_release(warehouse)
    return rel / DB_NAME if rel else None


def _check_layout(warehouse: Path) -> None:
    for name in (DB_NAME, PARQUET):
        p = warehouse / name
        if p.exists() and not p.is_symlink():
            raise PublishError(f"{p} exists and was not made by shiyou; move it away or choose another --warehouse")


def new_release_dir(warehouse: Path) -> Path:
    """A fresh, empty folder to build the next release in (not yet visible to readers)."""
    warehouse.mkdir(parents=True, exist_ok=True)
    _check_layout(warehouse)
    releases = warehouse / RELEASES
    releases.mkdir(exist_ok=True)
    discard_unfinished_releases(warehouse)  # left by an interrupted run
    numbers = [int(m.group(1)) for p in releases.iterdir() if (m := _RELEASE.fullmatch(p.name))]
    nxt = max(numbers, default=0) + 1
    building = releases / f".building-r{nxt:06d}"
    building.mkdir()
    return building


def discard_unfinished_releases(warehouse: Path) -> None:
    """Remove releases that never got swapped in (call only while holding the sync lock)."""
    releases = warehouse / RELEASES
    if releases.is_dir():
        for stale in releases.glob(".building-*"):
            shutil.rmtree(stale, ignore_errors=True)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(dirpath, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _replace_link(link: Path, target: str) -> None:
    tmp = link.with_name(f".{link.name}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def swap_in(warehouse: Path, building: Path, keep: int = 2) -> Path:
    """Make the built release the published one; keep the previous `keep - 1` releases."""
    if not (building / DB_NAME).is_file():
        raise PublishError(f"release {building.name} has no {DB_NAME}")
    _fsync_tree(building)
    final = building.with_name(building.name.removeprefix(".building-"))
    os.replace(building, final)
    # Stable entry points first (they point through `current`), then the swap itself.
    for name in (DB_NAME, PARQUET):
        if not (warehouse / name).is_symlink():
            _replace_link(warehouse / name, f"{CURRENT}/{name}")
    _replace_link(warehouse / CURRENT, f"{RELEASES}/{final.name}")
    dfd = os.open(warehouse, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    _prune(warehouse, final, keep)
    return final


def _prune(warehouse: Path, live: Path, keep: int) -> None:
    releases = sorted(
        (p for p in (warehouse / RELEASES).iterdir() if _RELEASE.fullmatch(p.name)), key=lambda p: p.name)
    for old in releases[:-keep]:
        if old != live:
            shutil.rmtree(old, ignore_errors=True)
