"""Write small delivery files in each department's real format (BOM CSV, GB18030, xlsx, pipe text)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import xlsxwriter

from shiyou.contracts.model import load_contracts

CONTRACTS = {c.source: c for c in load_contracts()}


def headers(source: str) -> list[str]:
    return CONTRACTS[source].headers()


def write_csv(path: Path, header: list[str], rows: list[list], *, encoding="utf-8", delimiter=",",
              quoting=csv.QUOTE_MINIMAL, bom=False, final_newline=True) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator="\n",
                   **({"escapechar": None, "quotechar": '"'} if quoting != csv.QUOTE_NONE else {"quotechar": None, "escapechar": "\\"}))
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    text = buf.getvalue()
    if not final_newline:
        text = text.rstrip("\n")
    data = text.encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def write_pipe(path: Path, header: list[str], rows: list[list], final_newline=True) -> Path:
    lines = ["|".join(header)] + ["|".join("" if v is None else str(v) for v in r) for r in rows]
    text = "\n".join(lines) + ("\n" if final_newline else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def write_xlsx(path: Path, sheet: str, header: list[str], rows: list[list]) -> Path:
    """Dates given as datetime.date become real Excel date cells; floats become number cells."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(sheet)
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, header)
    for i, r in enumerate(rows, start=1):
        for j, v in enumerate(r):
            if isinstance(v, dt.date):
                ws.write_datetime(i, j, dt.datetime(v.year, v.month, v.day), date_fmt)
            elif isinstance(v, (int, float)):
                ws.write_number(i, j, v)
            elif v is not None:
                ws.write_string(i, j, v)
    wb.close()
    return path


def row(source: str, **values) -> list:
    """A row in header order; unnamed columns are blank."""
    return [values.get(h) for h in headers(source)]
