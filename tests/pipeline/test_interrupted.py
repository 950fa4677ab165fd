"""kill -9 at any moment: the folder shows the previous publish or the new one, and a rerun completes it.

The sync runs as a real `shiyou sync` process; the test waits for it to reach
a stage (a file appearing), kills it with SIGKILL and inspects the folder.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from tests.pipeline.landing import make_day, run_sync_process, sync_command
from tests.pipeline.test_sync import tree_digest

D1, D2 = dt.date(2026, 11, 18), dt.date(2026, 11, 19)
ROOT = Path(__file__).resolve().parents[2]


def run_cli(landing: Path, wh: Path, day: dt.date) -> subprocess.Popen:
    return subprocess.Popen(sync_command(landing, wh, day), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def wait_for(proc: subprocess.Popen, predicate, timeout: float = 120) -> bool:
    """Poll the file system until the run reaches a stage; False if it finished first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    raise TimeoutError("sync never reached the stage")


def published(wh: Path) -> str:
    return tree_digest_published(wh)


def tree_digest_published(wh: Path) -> str:
    """Digest of what readers see: the links and the current release (unfinished builds excluded)."""
    import hashlib

    h = hashlib.sha256()
    for name in ("shiyou.duckdb", "parquet", "current"):
        p = wh / name
        h.update(f"{name} -> {os.readlink(p) if p.is_symlink() else None}\n".encode())
    current = (wh / "current").resolve()
    h.update(tree_digest(current).encode())
    return h.hexdigest()


@pytest.mark.parametrize("stage", ["building", "parquet"])
def test_kill_9_leaves_a_whole_publish(tmp_path, stage):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    make_day(landing, D1)
    first = run_sync_process(landing, wh)
    assert first.returncode == 0, first.stderr
    before = published(wh)
    make_day(landing, D2, n=40, tag="新")

    def reached() -> bool:
        builds = list((wh / "releases").glob(".building-*"))
        if stage == "building":
            return any((b / "shiyou.duckdb").exists() for b in builds)
        return any((b / "parquet").exists() for b in builds)

    proc = run_cli(landing, wh, D2)
    interrupted = wait_for(proc, reached)
    if stage == "building":
        assert interrupted, "the run finished before the test could kill it"
    if interrupted:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = published(wh)
    # Readers see the old publish or (if the swap happened first) a complete new one.
    with duckdb.connect(str(wh / "shiyou.duckdb"), read_only=True) as con:
        snaps = {r[0] for r in con.execute("SELECT DISTINCT snapshot_date FROM source_records").fetchall()}
        parquet_rows = con.execute("SELECT count(*) FROM read_parquet(?)",
                                   [str(wh / "parquet" / "deliveries" / "data.parquet")]).fetchone()[0]
        delivery_rows = con.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    assert parquet_rows == delivery_rows  # DuckDB file and Parquet from the same publish
    assert snaps in ({D1}, {D2})
    if snaps == {D1}:
        assert after == before
    rerun = run_sync_process(landing, wh, D2)
    assert rerun.returncode == 0, rerun.stderr
    with duckdb.connect(str(wh / "shiyou.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM source_records WHERE source = 'police'").fetchone()[0] == 40
    assert not list((wh / "releases").glob(".building-*"))
