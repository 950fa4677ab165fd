"""Resources: where deliveries land and where the warehouse is published."""

from __future__ import annotations

import fcntl
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from shiyou.sync import LOCK_NAME, SyncError
from shiyou.warehouse.publish import discard_unfinished_releases


class LandingZone(ConfigurableResource):
    """The landing folder the departments drop their nightly snapshots into."""

    path: str = "data_samples/landing"

    def root(self) -> Path:
        return Path(self.path)


class Warehouse(ConfigurableResource):
    """The published warehouse folder (DIR/shiyou.duckdb, DIR/parquet/).

    Holds an exclusive lock on the folder for the whole run, so a scheduled run
    and a sensor-triggered one never build releases over each other.
    """

    path: str = "warehouse"
    _lock = PrivateAttr(default=None)

    def root(self) -> Path:
        return Path(self.path)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        root = self.root()
        root.mkdir(parents=True, exist_ok=True)
        fh = open(root / LOCK_NAME, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise SyncError(f"another sync is running on {root} (lock {LOCK_NAME})") from None
        self._lock = fh

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        # Under the lock, a release still being built can only be this run's failed one.
        discard_unfinished_releases(self.root())
        if self._lock is not None:
            self._lock.close()
            self._lock = None
