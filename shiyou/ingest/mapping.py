"""Contract → SQL: turn a raw delivery table into one row per person, in the standard's field names.

The SELECT is generated from the contract (headers quoted as identifiers, code
maps rendered as escaped literals), so a new department needs no code here.
Every output has the same columns whatever the source: fields a source does
not deliver are typed NULLs.
"""

from __future__ import annotations

from shiyou.contracts.model import ColumnSpec, PersonSpec, SourceContract
from shiyou.contracts.readers import LINE_NO
from shiyou.sql import literal, quote_ident
from shiyou.standard import dates, elements

# Raw text companions kept next to standardised values (evidence + unknown-code checks).
RAW_SUFFIX = "_raw"


def _text(header: str, invisible: bool = False) -> str:
    # Outer spaces (ASCII and ideographic) are never meaningful; blank means missing. Names
    # also lose invisible characters (no-break, zero-width): a name made of them is no name.
    chars = literal(" \t\r\n\u3000" + ("\u00a0\u200b\ufeff" if invisible else ""))
    # trim() with a character set is slow (it rebuilds every value); most values have nothing
    # to trim, so it runs only where the first or last character (code point) is in the set.
    # An empty value counts as "in the set" and becomes NULL either way.
    x = f"CAST({quote_ident(header)} AS VARCHAR)"
    return (f"nullif(CASE WHEN contains({chars}, {x}[1]) OR contains({chars}, {x}[-1]) "
            f"THEN trim({x}, {chars}) ELSE {x} END, '')")


def _code(text: str, spec: ColumnSpec, joins: list[str]) -> str:
    """A contract's own code map is a CASE; a code table is a hash join (a correlated lookup
    would make DuckDB materialise the whole delivery once per looked-up column)."""
    if spec.values is not None:
        whens = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in spec.values.items())
        return f"(CASE {text} {whens} ELSE NULL END)"
    table = spec.code_table or elements.all_elements()[spec.field].code_table
    n = len(joins)
    joins.append(f"LEFT JOIN (SELECT key AS __k{n}, code AS __c{n} FROM __code_lookup "
                 f"WHERE code_table = {literal(table)}) AS __lookup{n} ON __lookup{n}.__k{n} = {text}")
    return f"__lookup{n}.__c{n}"


def output_columns() -> list[tuple[str, str]]:
    """(name, SQL type) of the mapped table, in order; the same for every source."""
    cols: list[tuple[str, str]] = [
        ("source", "VARCHAR"), ("record_id", "VARCHAR"), ("line_no", "BIGINT"),
    ]
    for e in elements.fed_elements():
        if e.kind in ("code", "id_number", "phone", "date"):
            cols.append((e.name + RAW_SUFFIX, "VARCHAR"))
        if e.kind == "date":
            cols.append((e.name, "DATE"))
            cols.append((e.name + "_month", "DATE"))
        elif e.kind == "bool":
            cols.append((e.name, "BOOLEAN"))
        elif e.kind in ("id_number", "phone"):
            continue
        else:
            cols.append((e.name, "VARCHAR"))
    cols.append(("attributes", "JSON"))
    return cols


def _person_select(contract: SourceContract, person: PersonSpec, table: str) -> str:
    exprs: dict[str, str] = {
        "source": literal(contract.source),
        "record_id": f"{_text(contract.record_key)} || {literal(person.key_suffix)}",
        "line_no": LINE_NO,
    }
    attributes: list[tuple[str, str]] = []
    joins: list[str] = []
    for header, spec in contract.person_columns(person).items():
        text = _text(header, invisible=spec.field in ("name", "former_name"))
        k = elements.kind(spec.field)
        if k == "attributes":
            attributes.append((spec.field.split(".", 1)[1], text))
        elif k == "code":
            exprs[spec.field + RAW_SUFFIX] = text
            exprs[spec.field] = _code(text, spec, joins)
        elif k == "bool":
            exprs[spec.field] = f"CAST({_code(text, spec, joins)} AS BOOLEAN)" if spec.values else f"TRY_CAST({text} AS BOOLEAN)"
        elif k == "date":
            exprs[spec.field + RAW_SUFFIX] = text
            exprs[spec.field] = dates.sql_day(text, spec.formats or [])
            exprs[spec.field + "_month"] = dates.sql_month(text, spec.formats or [])
        elif k in ("id_number", "phone"):
            exprs[spec.field + RAW_SUFFIX] = text
        else:
            exprs[spec.field] = text
    for name, value in contract.person_constants(person).items():
        if name.startswith("attributes."):
            attributes.append((name.split(".", 1)[1], literal(value)))
        elif elements.kind(name) == "bool":
            exprs[name] = f"CAST({literal(value)} AS BOOLEAN)"
        else:
            exprs.setdefault(name, literal(value))
            if elements.kind(name) == "code":
                exprs.setdefault(name + RAW_SUFFIX, literal(value))
    if attributes:
        pairs = ", ".join(f"{literal(k)}, {v}" for k, v in sorted(attributes))
        exprs["attributes"] = f"json_object({pairs})"

    select = []
    for name, sql_type in output_columns():
        expr = exprs.get(name, "NULL")
        select.append(f"CAST({expr} AS {sql_type}) AS {quote_ident(name)}")
    where = f"WHERE {_text(person.present_when)} IS NOT NULL" if person.present_when else ""
    return f"SELECT {', '.join(select)} FROM {quote_ident(table)} {' '.join(joins)} {where}"


def mapping_sql(contract: SourceContract, raw_table: str) -> str:
    """One SELECT (UNION ALL over the persons on a row) producing mapped person-records."""
    return "\nUNION ALL\n".join(_person_select(contract, p, raw_table) for p in contract.persons)
