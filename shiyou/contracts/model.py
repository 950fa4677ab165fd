"""Source contracts: what one department delivers, as typed objects loaded from YAML.

A contract says where the file is, how to read it, and which header feeds which
data element of the standard. Onboarding a department is a new YAML file in
``schemas/sources/``; nothing here knows any department by name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shiyou.paths import SCHEMAS_DIR
from shiyou.standard import elements

SOURCES_DIR = SCHEMAS_DIR / "sources"

# Date format tokens a contract may name besides strptime patterns.
EXCEL_SERIAL = "excel_serial"


class ContractError(Exception):
    """One or more contracts are invalid; the message lists every problem at once."""


class ColumnSpec(BaseModel):
    """How one delivered column becomes one data element."""

    model_config = ConfigDict(extra="forbid")

    field: str
    values: dict[str, str | None] | None = None  # source value -> standard code
    code_table: str | None = None  # look the value up in schemas/codes/<table>.csv
    formats: list[str] | None = None  # date formats, tried in order
    required: bool = True  # must the header be present in the file?

    @field_validator("formats", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("values", mode="before")
    @classmethod
    def _stringify_keys(cls, v):
        # YAML reads `1:` as an int and `01:` as a string; sources deliver text.
        if v is None:
            return v
        return {str(k): (None if val is None else str(val)) for k, val in v.items()}


class PersonSpec(BaseModel):
    """One person described by a row (family planning rows hold two)."""

    model_config = ConfigDict(extra="forbid")

    key_suffix: str = ""
    present_when: str | None = None  # header that must be non-blank for this person to exist
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    constants: dict[str, str] = Field(default_factory=dict)


class FileSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str  # e.g. "minzheng_{yyyymmdd}.csv"
    format: Literal["csv", "xlsx"]
    encoding: Literal["utf-8", "utf-8-sig", "gb18030"] = "utf-8"
    delimiter: str = ","
    quote: str | None = '"'  # None: fields are never quoted
    sheet: str | None = None

    @model_validator(mode="after")
    def _xlsx_has_sheet(self):
        if self.format == "xlsx" and not self.sheet:
            raise ValueError("an xlsx source must name its sheet")
        if "{yyyymmdd}" not in self.pattern:
            raise ValueError("file pattern must contain {yyyymmdd}")
        return self

    def regex(self) -> re.Pattern[str]:
        head, tail = self.pattern.split("{yyyymmdd}", 1)
        return re.compile(re.escape(head) + r"(\d{8})" + re.escape(tail) + r"$")


class SourceContract(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    label: str
    description: str = ""
    file: FileSpec
    record_key: str
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)  # shared by every person on a row
    persons: list[PersonSpec] = Field(default_factory=lambda: [PersonSpec()])
    constants: dict[str, str] = Field(default_factory=dict)

    @field_validator("source")
    @classmethod
    def _source_key(cls, v):
        if not re.fullmatch(r"[a-z][a-z0-9_]{1,40}", v):
            raise ValueError("source key must be lower_snake_case (it names folders and tables)")
        return v

    def headers(self) -> list[str]:
        """Every header the contract knows, in declaration order."""
        seen: dict[str, None] = {self.record_key: None}
        for h in self.columns:
            seen[h] = None
        for p in self.persons:
            for h in p.columns:
                seen[h] = None
            if p.present_when:
                seen[p.present_when] = None
        return list(seen)

    def required_headers(self) -> list[str]:
        req = [self.record_key]
        for cols in [self.columns, *[p.columns for p in self.persons]]:
            req += [h for h, c in cols.items() if c.required]
        req += [p.present_when for p in self.persons if p.present_when]
        return list(dict.fromkeys(req))

    def person_columns(self, person: PersonSpec) -> dict[str, ColumnSpec]:
        return {**self.columns, **person.columns}

    def person_constants(self, person: PersonSpec) -> dict[str, str]:
        return {**self.constants, **person.constants}


@dataclass(frozen=True)
class _Problem:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def _semantic_problems(c: SourceContract, where: str, known_tables: set[str]) -> list[_Problem]:
    out: list[_Problem] = []
    for person in c.persons:
        mapped = c.person_columns(person)
        fields = [spec.field for spec in mapped.values()] + list(c.person_constants(person))
        for header, spec in mapped.items():
            if not elements.is_mappable(spec.field):
                out.append(_Problem(where, f"column {header!r} maps to unknown data element {spec.field!r}"))
            if spec.code_table and spec.code_table not in known_tables:
                out.append(_Problem(where, f"column {header!r} names unknown code table {spec.code_table!r}"))
            if elements.kind(spec.field) == "date" and not spec.formats:
                out.append(_Problem(where, f"date column {header!r} needs `formats`"))
        for name in c.person_constants(person):
            if not elements.is_mappable(name):
                out.append(_Problem(where, f"constant for unknown data element {name!r}"))
        if "record_id" in fields:
            out.append(_Problem(where, "record_id comes from `record_key`, do not map it"))
        dupes = {f for f in fields if fields.count(f) > 1 and not f.startswith("attributes.")}
        for f in sorted(dupes):
            out.append(_Problem(where, f"data element {f!r} is fed twice for one person"))
        if "name" not in fields:
            out.append(_Problem(where, "every person needs a `name` column"))
    suffixes = [p.key_suffix for p in c.persons]
    if len(set(suffixes)) != len(suffixes):
        out.append(_Problem(where, "persons on one row need distinct key_suffix values"))
    return out


def load_contract_file(path: Path) -> SourceContract:
    return load_contracts([path])[0]


def load_contracts(paths: list[Path] | None = None, directory: Path | None = None) -> list[SourceContract]:
    """Load and check contracts; every problem in every file is reported in one ContractError."""
    from shiyou.standard.codes import table_names

    if paths is None:
        directory = directory or SOURCES_DIR
        paths = sorted(directory.glob("*.yaml"))
    problems: list[_Problem] = []
    contracts: list[SourceContract] = []
    known_tables = set(table_names())
    for path in paths:
        where = str(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            problems.append(_Problem(where, f"cannot read YAML ({exc.__class__.__name__}: {exc})"))
            continue
        try:
            contract = SourceContract.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"]) or "(top)"
                problems.append(_Problem(where, f"{loc}: {err['msg']}"))
            continue
        if path.stem != contract.source:
            problems.append(_Problem(where, f"file name must be {contract.source}.yaml"))
        problems += _semantic_problems(contract, where, known_tables)
        contracts.append(contract)
    keys = [c.source for c in contracts]
    for k in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(_Problem(str(directory or "contracts"), f"source {k!r} is defined twice"))
    if problems:
        raise ContractError("invalid source contract(s):\n  " + "\n  ".join(map(str, problems)))
    return contracts


def sources_dir() -> Path:
    """schemas/sources/, or the folder named by SHIYOU_SOURCES_DIR (a deployment's own contracts)."""
    return Path(os.environ.get("SHIYOU_SOURCES_DIR") or SOURCES_DIR)


@lru_cache(maxsize=1)
def default_contracts() -> tuple[SourceContract, ...]:
    return tuple(load_contracts(directory=sources_dir()))
