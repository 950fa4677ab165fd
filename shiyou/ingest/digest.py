"""SHA-256 of delivered files, optionally started early in a background thread.

A sync decides what to load by each file's digest (sync.open_run). At 1M residents the five
files hold ≈ 0.5 GB, ≈ 0.3 s to hash, and the command spends its first ≈ 1.4 s importing
Dagster and starting its instance on one core: ``start`` hashes the day's files on the other
core meanwhile, and ``sha256_of`` then finds the digest ready. A digest is only reused for the
same path, size and modification time; the reader hashes the bytes it parses again, so a file
changed in between is caught there in any case.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import Future
from pathlib import Path

_BLOCK = 1 << 20
_started: dict[tuple, Future] = {}
_lock = threading.Lock()


def _hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            h.update(block)  # hashlib and file reads release the GIL on blocks this large
    return h.hexdigest()


def _key(path: Path) -> tuple:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def start(paths: list[Path]) -> None:
    """Hash ``paths`` in a daemon thread; a failure is left for ``sha256_of`` to meet again."""
    pending: list[tuple[Path, Future]] = []
    with _lock:
        for p in paths:
            try:
                key = _key(p)
            except OSError:
                continue
            if key not in _started:
                _started[key] = fut = Future()
                pending.append((p, fut))
    if not pending:
        return

    def work() -> None:
        for p, fut in pending:
            try:
                fut.set_result(_hash(p))
            except BaseException as e:  # noqa: BLE001 - handed to whoever asks for this digest
                fut.set_exception(e)

    threading.Thread(target=work, name="shiyou-digest", daemon=True).start()


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file, from ``start`` when it hashed this very file, else computed now."""
    try:
        key = _key(path)
    except OSError:
        return _hash(path)  # raises the same error, as a plain read would
    with _lock:
        fut = _started.pop(key, None)
    if fut is not None:
        try:
            return fut.result()
        except OSError:
            pass  # e.g. unreadable then: try once more now, so the error is this read's
    return _hash(path)
