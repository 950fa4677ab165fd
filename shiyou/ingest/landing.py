"""The landing folder: `<landing>/<source>/<YYYY-MM-DD>/<file>`, read defensively.

Only folders and files inside the landing folder are followed (a link pointing
out of it is ignored and reported); a file is a delivery only if its name
matches the contract's pattern for that folder's date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from shiyou.contracts.model import SourceContract

DATE_DIR = re.compile(r"\d{4}-\d{2}-\d{2}")


class LandingError(Exception):
    pass


@dataclass(frozen=True)
class Delivery:
    source: str
    snapshot_date: dt.date
    path: Path  # resolved, inside the landing folder

    @property
    def file(self) -> str:
        return self.path.name


@dataclass
class SourceLanding:
    """What the landing folder holds for one source on the sync date."""

    source: str
    delivery: Delivery | None
    problem: str | None = None  # a delivery that exists but cannot be taken (two files, bad name …)
    notes: list[str] = field(default_factory=list)


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def _date_dirs(source_dir: Path, root: Path, notes: list[str]) -> dict[dt.date, Path]:
    out: dict[dt.date, Path] = {}
    if not source_dir.is_dir() or not _inside(source_dir, root):
        return out
    for d in source_dir.iterdir():
        if not DATE_DIR.fullmatch(d.name) or not d.is_dir():
            continue
        if not _inside(d, root):
            notes.append(f"{source_dir.name}/{d.name}: points outside the landing folder, ignored")
            continue
        try:
            out[dt.date.fromisoformat(d.name)] = d
        except ValueError:
            notes.append(f"{source_dir.name}/{d.name}: not a calendar date, ignored")
    return out


def newest_date(landing: Path, contracts: list[SourceContract]) -> dt.date | None:
    root = landing.resolve()
    dates = [d for c in contracts for d in _date_dirs(root / c.source, root, [])]
    return max(dates) if dates else None


def find(landing: Path, contracts: list[SourceContract], sync_date: dt.date) -> dict[str, SourceLanding]:
    """For each source, the delivery of the sync date (or None when the department missed it)."""
    if not landing.is_dir():
        raise LandingError(f"landing folder {landing} does not exist")
    root = landing.resolve()
    found: dict[str, SourceLanding] = {}
    for c in contracts:
        notes: list[str] = []
        dirs = _date_dirs(root / c.source, root, notes)
        folder = dirs.get(sync_date)
        if folder is None:
            found[c.source] = SourceLanding(c.source, None, notes=notes)
            continue
        pattern = c.file.regex()
        stamp = sync_date.strftime("%Y%m%d")
        matches, strangers = [], []
        for f in sorted(folder.iterdir()):
            if f.name.startswith("."):
                continue
            m = pattern.match(f.name)
            if not m:
                strangers.append(f.name)
            elif not _inside(f, root) or not f.is_file():
                notes.append(f"{c.source}/{folder.name}/{f.name}: not a regular file inside the landing folder, ignored")
            elif m.group(1) != stamp:
                notes.append(f"{c.source}/{folder.name}/{f.name}: dated {m.group(1)}, not {stamp}; ignored")
            else:
                matches.append(f.resolve())
        if strangers:
            notes.append(f"{c.source}/{folder.name}: files not matching {c.file.pattern!r} ignored: {', '.join(strangers)}")
        if not matches:
            found[c.source] = SourceLanding(c.source, None, notes=notes)
        elif len(matches) > 1:
            found[c.source] = SourceLanding(
                c.source, None, problem=f"{len(matches)} files for one snapshot ({', '.join(p.name for p in matches)})",
                notes=notes)
        else:
            found[c.source] = SourceLanding(c.source, Delivery(c.source, sync_date, matches[0]), notes=notes)
    return found


def newly_landed(landing: Path, contracts: list[SourceContract], seen: dict[str, str],
                 settle_seconds: float = 60.0, now: float | None = None
                 ) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Files not in `seen` (path -> "mtime:size"): {date: [relative paths]} and the updated cursor.

    Files changed less than `settle_seconds` ago are skipped until a later call.
    """
    import time

    now = time.time() if now is None else now
    root = landing.resolve()
    fresh: dict[str, list[str]] = {}
    cursor = dict(seen)
    if not root.is_dir():
        return fresh, cursor
    for c in contracts:
        for date, folder in _date_dirs(root / c.source, root, []).items():
            for f in folder.iterdir():
                if not c.file.regex().match(f.name) or not f.is_file() or not _inside(f, root):
                    continue
                rel = str(f.relative_to(root))
                st = f.stat()
                if now - st.st_mtime < settle_seconds:
                    continue
                stamp = f"{st.st_mtime_ns}:{st.st_size}"
                if cursor.get(rel) != stamp:
                    cursor[rel] = stamp
                    fresh.setdefault(date.isoformat(), []).append(rel)
    return fresh, cursor
