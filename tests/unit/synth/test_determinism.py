"""Same arguments, same bytes; the committed sample is what the generator makes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from shiyou.synth import generate_district, write_district

from .conftest import REPO


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes(tmp_path):
    for name in ("a", "b"):
        write_district(generate_district(400, 7, "2025-03-01"), tmp_path / name)
    a, b = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert len(a) == 9  # five extracts + four answer files
    assert a == b


def test_another_seed_gives_another_district(tmp_path):
    write_district(generate_district(400, 7, "2025-03-01"), tmp_path / "a")
    write_district(generate_district(400, 8, "2025-03-01"), tmp_path / "b")
    a, b = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert a.keys() == b.keys()
    assert all(a[k] != b[k] for k in a)


def test_committed_sample_is_up_to_date(sample_dir):
    committed = REPO / "data_samples"
    if not (committed / "truth" / "truth.csv").exists():
        pytest.fail("data_samples/ is missing: run `make samples`")
    ours = digests(sample_dir)
    theirs = {k: v for k, v in digests(committed).items() if not k.endswith("README.md")}
    assert ours == theirs, "data_samples/ is stale: run `make samples` and commit the result"


def test_committed_sample_is_small():
    total = sum(p.stat().st_size for p in (REPO / "data_samples").rglob("*") if p.is_file())
    assert total < 2_000_000
