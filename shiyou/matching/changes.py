"""Change events: what changed about each resident since the last published sync, as SQL.

    change_events_sql(previous="prev", detected_on=date)   # this sync's events

Compares the residents being published with the previous release's (attached as
``previous``), resident by resident through the stable resident IDs:

``new_resident``      a resident ID that did not exist (``detail.split_from``: the residents
                      whose records it took, when it was split off one)
``resident_merged``   a previous resident whose records now belong to another (``detail.into``)
``resident_removed``  a previous resident none of whose records is delivered any more
``deceased`` / ``moved_out`` / ``active_again``   the status changed (``detail.status_date``)
``<field>_changed``   a surviving value changed: name, id_number, address, phone,
                      household_id or population_type (``detail.from`` / ``detail.to``, masked)

``source`` is the department whose record brought the change (the record the new value
was taken from, the record carrying the new status), null for merges and removals.
Details never hold a full name, ID, phone or address: the table is published as is.
"""

from __future__ import annotations

import datetime as dt

from shiyou.sql import literal, quote_ident
from shiyou.standard import masking

COLUMNS = "resident_id VARCHAR, event_type VARCHAR, detected_on DATE, source VARCHAR, detail VARCHAR"

# Field -> masking of its values in the detail.
WATCHED = {
    "name": masking.sql_mask_name,
    "id_number": masking.sql_mask_id,
    "address": masking.sql_mask_text,
    "phone": masking.sql_mask_phone,
    "household_id": masking.sql_mask_text,
    "population_type": lambda col: col,
}
STATUS_EVENTS = {"deceased": "deceased", "moved_out": "moved_out", "active": "active_again"}


def _source_of(field: str, alias: str = "c") -> str:
    """The department of the record a field's value came from (record_uid = source:record_id)."""
    return f"split_part(json_extract_string({alias}.provenance, {literal('$.' + field)}), ':', 1)"


def change_events_sql(previous: str = "prev", detected_on: dt.date | str | None = None) -> str:
    """This sync's events: (resident_id, event_type, detected_on, source, detail JSON)."""
    day = f"CAST({literal(str(detected_on))} AS DATE)" if detected_on else "current_date"
    old_res, old_xref = f"{quote_ident(previous)}.residents", f"{quote_ident(previous)}.resident_xref"
    # Where the records of each previous resident went, and where each new resident's came from.
    flows = (f"SELECT p.resident_id AS old_id, x.resident_id AS new_id, count(*) AS n FROM {old_xref} AS p "
             f"JOIN resident_xref AS x ON x.record_uid = p.record_uid GROUP BY p.resident_id, x.resident_id")
    into = ("SELECT old_id, new_id FROM (SELECT *, row_number() OVER (PARTITION BY old_id ORDER BY n DESC, new_id) "
            "AS k FROM flows) AS f WHERE k = 1")
    parts = [
        f"SELECT c.resident_id, 'new_resident' AS event_type, {_source_of('name')} AS source, "
        f"CAST(json_object('split_from', (SELECT list_sort(list(f.old_id)) FROM flows AS f "
        f"WHERE f.new_id = c.resident_id)) AS VARCHAR) AS detail "
        f"FROM residents AS c LEFT JOIN {old_res} AS o ON o.resident_id = c.resident_id WHERE o.resident_id IS NULL",
        f"SELECT o.resident_id, CASE WHEN i.new_id IS NULL THEN 'resident_removed' ELSE 'resident_merged' END, "
        f"NULL, CAST(json_object('into', i.new_id) AS VARCHAR) FROM {old_res} AS o "
        f"LEFT JOIN residents AS c ON c.resident_id = o.resident_id LEFT JOIN moved_to AS i ON i.old_id = o.resident_id "
        f"WHERE c.resident_id IS NULL",
    ]
    # Status and field changes read one join of the two residents tables, narrowed at once to
    # the residents where anything watched differs (a few per night): one 1M-row join instead
    # of one per watched field (3.2 s against ≈ 1 s for a nightly sync at 1M residents).
    watched = ["status", *WATCHED]
    differs = " OR ".join(f"c.{quote_ident(f)} IS DISTINCT FROM o.{quote_ident(f)}" for f in watched)
    olds = ", ".join(f"o.{quote_ident(f)} AS {quote_ident('old_' + f)}" for f in watched)
    changed = (f"SELECT c.resident_id, c.status_date, c.provenance, "
               f"{', '.join(f'c.{quote_ident(f)}' for f in watched)}, {olds} "
               f"FROM residents AS c JOIN {old_res} AS o ON o.resident_id = c.resident_id WHERE {differs}")
    whens = " ".join(f"WHEN {literal(s)} THEN {literal(e)}" for s, e in STATUS_EVENTS.items())
    status_source = ("(SELECT min(s.source) FROM resident_xref AS x JOIN source_records AS s "
                     "ON s.record_uid = x.record_uid WHERE x.resident_id = c.resident_id AND s.status = c.status)")
    parts.append(
        f"SELECT c.resident_id, CASE c.status {whens} END, {status_source}, "
        f"CAST(json_object('from', c.old_status, 'to', c.status, 'status_date', c.status_date) AS VARCHAR) "
        f"FROM changed AS c WHERE c.status IS DISTINCT FROM c.old_status")
    for field, mask in WATCHED.items():
        col, old = quote_ident(field), quote_ident("old_" + field)
        parts.append(
            f"SELECT c.resident_id, {literal(field + '_changed')}, {_source_of(field)}, "
            f"CAST(json_object('from', {mask('c.' + old)}, 'to', {mask('c.' + col)}) AS VARCHAR) "
            f"FROM changed AS c WHERE c.{col} IS DISTINCT FROM c.{old}")
    union = " UNION ALL ".join(parts)
    return (f"WITH flows AS MATERIALIZED ({flows}), moved_to AS ({into}), changed AS MATERIALIZED ({changed}) "
            f"SELECT resident_id, event_type, {day} AS detected_on, source, detail FROM ({union}) AS e "
            f"ORDER BY resident_id, event_type")
