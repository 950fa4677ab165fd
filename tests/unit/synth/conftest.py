"""Fixtures: the 2,000-resident sample, generated once per test session in a temp dir."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from shiyou.synth import generate_district, write_district

SAMPLE_ARGS = dict(n_residents=2000, seed=20261120, snapshot_date="2026-11-20")
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def sample_district():
    return generate_district(**SAMPLE_ARGS)


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory, sample_district) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_district(sample_district, out)
    return out


def read_answer(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def persons(sample_dir) -> list[dict[str, str]]:
    return read_answer(sample_dir / "truth" / "persons.csv")


@pytest.fixture(scope="session")
def truth(sample_dir) -> list[dict[str, str]]:
    return read_answer(sample_dir / "truth" / "truth.csv")


@pytest.fixture(scope="session")
def broken(sample_dir) -> list[dict[str, str]]:
    return read_answer(sample_dir / "truth" / "broken_rows.csv")


@pytest.fixture(scope="session")
def dirt(sample_dir) -> list[dict[str, str]]:
    return read_answer(sample_dir / "truth" / "dirt.csv")
