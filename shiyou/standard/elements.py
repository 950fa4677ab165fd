"""The data elements of the standard person record, read from schemas/data_elements.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from shiyou.paths import SCHEMAS_DIR


@dataclass(frozen=True)
class Element:
    name: str
    label: str
    type: str
    kind: str
    fed: bool = False
    required: bool = False
    format: str = ""
    code_table: str | None = None
    default: str | None = None
    storage: str | None = None  # a DuckDB compression method for the column, where not DuckDB's own choice


@lru_cache(maxsize=1)
def all_elements() -> dict[str, Element]:
    data = yaml.safe_load((SCHEMAS_DIR / "data_elements.yaml").read_text(encoding="utf-8"))
    return {e["name"]: Element(**e) for e in data["elements"]}


def fed_elements() -> list[Element]:
    return [e for e in all_elements().values() if e.fed and e.kind != "attributes"]


def is_mappable(field: str) -> bool:
    if field.startswith("attributes."):
        return len(field) > len("attributes.")
    e = all_elements().get(field)
    return bool(e and e.fed and e.kind != "attributes")


def kind(field: str) -> str:
    if field.startswith("attributes."):
        return "attributes"
    e = all_elements().get(field)
    return e.kind if e else "unknown"


def storage_compression() -> dict[str, str]:
    """Column -> DuckDB compression method, for the elements whose ``storage`` names one."""
    return {e.name: e.storage for e in all_elements().values() if e.storage}
