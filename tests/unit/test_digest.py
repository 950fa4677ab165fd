"""Delivered files' digests: hashed ahead in a background thread, never reused for a changed file."""

from __future__ import annotations

import hashlib
import os

import pytest

from shiyou.ingest import digest


def test_a_file_hashed_ahead_gives_its_digest(tmp_path):
    f = tmp_path / "gongan_syrk_20261120.csv"
    f.write_bytes(b"RYBH,XM\n1,\xd5\xc5\xc8\xfd\n" * 50_000)
    digest.start([f, tmp_path / "missing.csv"])  # a vanished file is skipped, not an error
    assert digest.sha256_of(f) == hashlib.sha256(f.read_bytes()).hexdigest()


def test_a_file_changed_after_hashing_ahead_is_hashed_again(tmp_path):
    f = tmp_path / "shebao_20261120.txt"
    f.write_bytes(b"old content\n")
    digest.start([f])
    digest._started[digest._key(f)].result(timeout=30)  # the early digest is of the old bytes
    f.write_bytes(b"new content, longer\n")
    os.utime(f, ns=(1, 1))
    assert digest.sha256_of(f) == hashlib.sha256(b"new content, longer\n").hexdigest()


def test_an_unreadable_file_raises_when_its_digest_is_asked(tmp_path):
    f = tmp_path / "minzheng_20261120.csv"
    f.mkdir()  # a folder where a file was expected: reading it fails
    digest.start([f])
    with pytest.raises(OSError, match="minzheng_20261120.csv"):
        digest.sha256_of(f)
