"""One writer per delivery format, plus the answer-key CSVs. Output is byte-stable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import xlsxwriter

from .district import District
from .sources import SourceTable
from .vec import T, cat

# source -> (delimiter, RFC 4180 quoting, encoding, line end)
DELIMITED = {
    "civil_affairs": (",", True, "utf-8-sig", "\r\n"),  # BOM + CRLF: an RFC 4180 export
    "labour": (",", True, "gb18030", "\r\n"),  # a Windows GBK-era system
    "social_security": ("|", False, "utf-8", "\n"),  # fields never contain '|', no quoting
    "police": (",", True, "utf-8", "\n"),
}
ANSWER_FILES = ("persons.csv", "truth.csv", "broken_rows.csv", "dirt.csv")


def quote_column(col: np.ndarray, delimiter: str = ",") -> np.ndarray:
    """RFC 4180: quote a field only when it holds the delimiter, a quote or a line break."""
    col = np.asarray(col, dtype=T)
    need = ((np.strings.find(col, delimiter) >= 0) | (np.strings.find(col, '"') >= 0)
            | (np.strings.find(col, "\n") >= 0) | (np.strings.find(col, "\r") >= 0))
    if not need.any():
        return col
    out = col.copy()
    out[need] = cat('"', np.strings.replace(col[need], '"', '""'), '"')
    return out


def _quote_one(value: str, delimiter: str, quote: bool) -> str:
    if quote and any(c in value for c in (delimiter, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value


def delimited_text(t: SourceTable, delimiter: str, quote: bool, line_end: str) -> str:
    """Header + one line per row; damaged rows are rebuilt field by field."""
    cols = [quote_column(t.data[c], delimiter) if quote else np.asarray(t.data[c], dtype=T)
            for c in t.columns]
    parts: list = []
    for i, c in enumerate(cols):
        if i:
            parts.append(delimiter)
        parts.append(c)
    lines = cat(*parts) if len(t) else np.zeros(0, dtype=T)
    lines = lines.tolist()
    final_newline = True
    for r, dmg in sorted(t.damage.items()):
        values = [str(t.data[c][r]) for c in t.columns]
        fields = [_quote_one(v, delimiter, quote) for v in values]
        if dmg[0] == "split":  # the damaged field is written raw, with a delimiter inside
            j, cut = dmg[1], dmg[2]
            fields[j] = values[j][:cut] + delimiter + values[j][cut:]
        elif dmg[0] == "drop":
            fields = fields[: len(fields) - dmg[1]]
        elif dmg[0] == "truncate":  # the transfer stopped mid-field: no line end either
            keep = dmg[1]
            last = fields[keep - 1]
            fields = fields[: keep - 1] + [last[: max(1, len(last) // 2)]]
            final_newline = r != len(t) - 1
        lines[r] = delimiter.join(fields)
    header = delimiter.join(t.columns)
    text = line_end.join([header] + lines)
    return text + line_end if final_newline else text


def write_delimited(t: SourceTable, path: Path) -> None:
    delimiter, quote, encoding, line_end = DELIMITED[t.source]
    path.write_bytes(delimited_text(t, delimiter, quote, line_end).encode(encoding))


def write_xlsx(t: SourceTable, path: Path, created: dt.datetime) -> None:
    """Family planning: real date cells mixed with text dates; constant memory, fixed metadata."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"created": created, "author": "卫健", "title": "育龄妇女信息"})
    ws = wb.add_worksheet("育龄妇女信息")
    formats = {"女方出生日期": wb.add_format({"num_format": "yyyy/m/d"}),
               "建档日期": wb.add_format({"num_format": "yyyy-mm-dd"})}
    ws.write_row(0, 0, t.columns)
    cols = [(j, t.data[c], formats.get(c)) for j, c in enumerate(t.columns)]
    for r in range(len(t)):
        row = r + 1
        for j, values, fmt in cols:
            v = values[r]
            if isinstance(v, str):
                if v:
                    ws.write_string(row, j, v)
            elif isinstance(v, dt.date):
                ws.write_datetime(row, j, v, fmt)
            else:
                ws.write_number(row, j, v)
        dmg = t.damage.get(r)
        if dmg is not None and dmg[0] == "extra_cell":
            ws.write_string(row, len(t.columns), dmg[1])
    wb.close()


def write_answer_csv(columns: dict[str, np.ndarray], path: Path) -> None:
    names = list(columns)
    parts: list = []
    for i, c in enumerate(names):
        if i:
            parts.append(",")
        parts.append(quote_column(columns[c]))
    n = len(next(iter(columns.values()))) if columns else 0
    lines = cat(*parts).tolist() if n else []
    path.write_bytes(("\n".join([",".join(names)] + lines) + "\n").encode("utf-8"))


def landing_path(out_dir: Path, district: District, source: str) -> Path:
    return (Path(out_dir) / "landing" / source / district.snapshot_date.isoformat()
            / district.tables[source].file_name)


def write_district(district: District, out_dir: str | Path) -> dict[str, Path]:
    """Write the five extracts under landing/ and the answer key under truth/."""
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    created = dt.datetime.combine(district.snapshot_date, dt.time(2, 0))
    for source, t in district.tables.items():
        path = landing_path(out_dir, district, source)
        path.parent.mkdir(parents=True, exist_ok=True)
        if source == "family_planning":
            write_xlsx(t, path, created)
        else:
            write_delimited(t, path)
        written[source] = path
    truth_dir = out_dir / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    for name, cols in (("persons.csv", district.persons()), ("truth.csv", district.truth()),
                       ("broken_rows.csv", district.broken_rows()), ("dirt.csv", district.dirt())):
        write_answer_csv(cols, truth_dir / name)
        written[name] = truth_dir / name
    return written
