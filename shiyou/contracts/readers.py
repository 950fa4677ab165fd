"""Read one delivered file into a DuckDB table of text columns, one row per data line.

Every reader returns the same thing: a table named by the caller whose columns
are the file's headers (all VARCHAR) plus ``__line_no`` (the line as an editor
shows it, header = 1; for xlsx the sheet row), and the lines it could not read,
each with a rule and a message. A file that cannot be used as a whole raises
``DeliveryRefused`` with a one-line reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from shiyou.contracts.model import SourceContract
from shiyou.sql import quote_ident

LINE_NO = "__line_no"


class DeliveryRefused(Exception):
    """The delivered file cannot be used at all (empty, wrong format, missing column …)."""

    def __init__(self, file: Path | str, reason: str, line_no: int | None = None):
        self.file = str(file)
        self.reason = reason
        self.line_no = line_no
        where = f"{Path(self.file).name}" + (f", line {line_no}" if line_no else "")
        super().__init__(f"{where}: {reason}")


@dataclass
class ReadResult:
    table: str
    headers: list[str]
    rows_read: int  # data rows seen in the file, readable or not
    rejects: pd.DataFrame  # line_no, rule, message, raw
    notes: list[str] = field(default_factory=list)


REJECT_COLUMNS = ["line_no", "rule", "message", "raw"]


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "line_no" else "object") for c in REJECT_COLUMNS})


def read_delivery(con: duckdb.DuckDBPyConnection, contract: SourceContract, path: Path, table: str,
                  scratch_dir: Path) -> ReadResult:
    if path.stat().st_size == 0:
        raise DeliveryRefused(path, "empty file (0 bytes); the source keeps its last good snapshot")
    if contract.file.format == "xlsx":
        result = _read_xlsx(con, contract, path, table)
    else:
        result = _read_text(con, contract, path, table, scratch_dir)
    if result.rows_read == 0:
        raise DeliveryRefused(path, "file has a header but no records; an empty snapshot is never taken as 'everyone left'")
    return result


# --------------------------------------------------------------------------- headers


def _check_headers(contract: SourceContract, path: Path, headers: list[str]) -> list[str]:
    if not headers or all(not h for h in headers):
        raise DeliveryRefused(path, "no header row", 1)
    dupes = sorted({h for h in headers if headers.count(h) > 1})
    if dupes:
        raise DeliveryRefused(path, f"header repeats column(s) {', '.join(dupes)}", 1)
    missing = [h for h in contract.required_headers() if h not in headers]
    if missing:
        hint = ""
        if contract.file.encoding == "gb18030" and len(missing) == len(contract.required_headers()):
            hint = f" (is the file really {contract.file.encoding}?)"
        raise DeliveryRefused(path, f"required column(s) missing: {', '.join(missing)}{hint}", 1)
    extra = [h for h in headers if h not in contract.headers()]
    return [f"column(s) not in the contract, ignored: {', '.join(extra)}"] if extra else []


# --------------------------------------------------------------------------- text (csv / pipe)


def _decode(contract: SourceContract, path: Path, data: bytes) -> str:
    enc = contract.file.encoding
    try:
        text = data.decode("utf-8-sig" if enc.startswith("utf-8") else enc)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DeliveryRefused(path, f"not valid {enc} text (byte {exc.start}); is the file in another encoding?", line) from None
    return text


def _read_text(con, contract: SourceContract, path: Path, table: str, scratch_dir: Path) -> ReadResult:
    data = path.read_bytes()
    text = _decode(contract, path, data)
    if text.startswith("\ufeff"):
        text = text[1:]
    header_line, _, _ = text.partition("\n")
    delim, quote = contract.file.delimiter, contract.file.quote
    if quote:
        headers = next(csv.reader([header_line.rstrip("\r")], delimiter=delim, quotechar=quote))
    else:
        headers = header_line.rstrip("\r").split(delim)
    headers = [h.strip() for h in headers]
    notes = _check_headers(contract, path, headers)

    # DuckDB reads UTF-8 only here (its GB18030 extension cannot be installed),
    # so anything else is re-encoded once into the run's scratch folder.
    readable = path
    if contract.file.encoding == "gb18030":
        readable = scratch_dir / f"{table}.utf8.csv"
        readable.write_text(text, encoding="utf-8")
    del data

    physical_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    con.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
    columns = {h: "VARCHAR" for h in headers}
    rej = f"{table}__rejects"
    scan = f"{table}__scan"
    con.execute(
        f"""CREATE TABLE {quote_ident(table)} AS SELECT * FROM read_csv(?, header=true, auto_detect=false,
            columns=?, delim=?, quote=?, escape=?, store_rejects=true, rejects_table=?, rejects_scan=?,
            strict_mode=true, encoding='utf-8', null_padding=false, skip=0)""",
        [str(readable), columns, delim, quote or "", quote or "", rej, scan],
    )
    n_ok = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchone()[0]
    rejects = con.execute(
        f"SELECT line AS line_no, error_type, error_message, csv_line FROM {quote_ident(rej)} ORDER BY line"
    ).df()
    con.execute(f"DROP TABLE IF EXISTS {quote_ident(rej)}; DROP TABLE IF EXISTS {quote_ident(scan)}")
    # One rejected line can carry several errors; it is still one line.
    rejects = rejects.drop_duplicates("line_no")

    if physical_lines == 1 + n_ok + len(rejects):
        _number_lines(con, table, rejects["line_no"].tolist())
        rejects_out = pd.DataFrame({
            "line_no": rejects["line_no"].astype("int64"),
            "rule": rejects["error_type"].map(_duck_rule),
            "message": [_duck_message(t, m) for t, m in zip(rejects["error_type"], rejects["error_message"])],
            "raw": rejects["csv_line"],
        })
        rejects_out = _recount_fields(con, table, text, len(headers), delim, quote, rejects_out)
        n_ok = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchone()[0]
    else:
        # Quoted fields spanning lines or blank lines: DuckDB counts records, not
        # lines, so re-read with the csv module, which tracks editor lines.
        rejects_out = _read_text_slow(con, contract, text, headers, table)
        n_ok = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchone()[0]
    rejects_out = _mark_truncated_tail(rejects_out, text, physical_lines)
    return ReadResult(table, headers, n_ok + len(rejects_out), rejects_out.reset_index(drop=True), notes)


def _field_count(line: str, delim: str, quote: str | None) -> int:
    if quote and quote in line:
        return len(next(csv.reader([line], delimiter=delim, quotechar=quote)))
    return line.count(delim) + 1


def _recount_fields(con, table: str, text: str, width: int, delim: str, quote: str | None,
                    rejects: pd.DataFrame) -> pd.DataFrame:
    """Reject lines whose field count is not the header's, which DuckDB may have accepted.

    DuckDB's reader takes a line with one extra, empty, trailing field as a trailing
    delimiter and loads it — shifted by a column when the extra comma sits mid-line.
    Counting delimiters per line is cheap (str.count) and settles it.
    """
    lines = text.split("\n")
    already = set(rejects["line_no"].tolist())
    bad: list[tuple[int, str, str, str]] = []
    for i in range(1, len(lines)):
        line = lines[i].rstrip("\r")
        if not line and i == len(lines) - 1:
            break  # the newline that ends the file
        n = _field_count(line, delim, quote)
        if n != width and (i + 1) not in already:
            bad.append((i + 1, "wrong_column_count", f"expected: {width} fields, found: {n}", line))
    if not bad:
        return rejects
    con.execute(f"DELETE FROM {quote_ident(table)} WHERE {LINE_NO} IN (SELECT unnest(?::BIGINT[]))",
                [[b[0] for b in bad]])
    extra = pd.DataFrame(bad, columns=REJECT_COLUMNS)
    return pd.concat([rejects, extra], ignore_index=True).sort_values("line_no", kind="stable")


def _duck_rule(error_type: str) -> str:
    return {
        "MISSING COLUMNS": "wrong_column_count",
        "TOO MANY COLUMNS": "wrong_column_count",
        "UNQUOTED VALUE": "bad_quoting",
        "INVALID UNICODE": "bad_encoding",
    }.get(error_type, "unreadable_line")


def _duck_message(error_type: str, message: str) -> str:
    if error_type in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
        return message.replace("Expected Number of Columns", "expected").replace("Found", "fields, found")
    return str(message)


def _mark_truncated_tail(rejects: pd.DataFrame, text: str, physical_lines: int) -> pd.DataFrame:
    """A short last line without a newline is a transfer cut short, not a bad record."""
    if rejects.empty or text.endswith("\n"):
        return rejects
    last = rejects["line_no"] == physical_lines
    if last.any() and (rejects.loc[last, "rule"] == "wrong_column_count").all():
        rejects = rejects.copy()
        rejects.loc[last, "rule"] = "truncated_line"
        rejects.loc[last, "message"] = "last line is cut short (no line end, too few fields): delivery was truncated"
    return rejects


def _number_lines(con, table: str, rejected_lines: list[int]) -> None:
    """Good rows are in file order; their line numbers are the lines not rejected."""
    t = quote_ident(table)
    con.execute(f"ALTER TABLE {t} ADD COLUMN {LINE_NO} BIGINT")
    if not rejected_lines:
        con.execute(f"UPDATE {t} SET {LINE_NO} = rowid + 2")
        return
    con.execute(
        f"""CREATE OR REPLACE TABLE {t} AS
        WITH good AS (SELECT * EXCLUDE ({LINE_NO}), row_number() OVER (ORDER BY rowid) AS k FROM {t}),
        lines AS (
            SELECT line, row_number() OVER (ORDER BY line) AS k
            FROM range(2, (SELECT count(*) FROM good) + ? + 2) r(line)
            WHERE line NOT IN (SELECT unnest(?::BIGINT[]))
        )
        SELECT good.* EXCLUDE (k), lines.line AS {LINE_NO} FROM good JOIN lines USING (k) ORDER BY k""",
        [len(rejected_lines), rejected_lines],
    )


def _read_text_slow(con, contract: SourceContract, text: str, headers: list[str], table: str) -> pd.DataFrame:
    delim, quote = contract.file.delimiter, contract.file.quote
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim,
                        quotechar=quote or '"', quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE)
    rows, lines, rejects = [], [], []
    next(reader)
    start = reader.line_num + 1
    for row in reader:
        line_no = start
        start = reader.line_num + 1
        if not row or row == [""]:
            continue  # blank line: not a record
        if len(row) != len(headers):
            raw = delim.join(row)
            rejects.append((line_no, "wrong_column_count",
                            f"expected: {len(headers)} fields, found: {len(row)}", raw))
            continue
        rows.append(row)
        lines.append(line_no)
    _load_text_rows(con, table, headers, rows, lines)
    return pd.DataFrame(rejects, columns=REJECT_COLUMNS) if rejects else _empty_rejects()


def _load_text_rows(con, table: str, headers: list[str], rows: list[list], lines: list[int]) -> None:
    """Rows of text cells → a VARCHAR table (typed as text up front: a column blank for its
    first thousand rows must not be guessed as NULL-typed)."""
    columns = list(zip(*rows)) if rows else [() for _ in headers]
    arrays = [pa.array(col, type=pa.string()) for col in columns]
    arrays.append(pa.array(lines, type=pa.int64()))
    arrow = pa.Table.from_arrays(arrays, names=[*headers, LINE_NO])
    con.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
    con.register("__text_rows", arrow)
    con.execute(f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM __text_rows")
    con.unregister("__text_rows")


# --------------------------------------------------------------------------- xlsx


def _cell_text(v) -> str | None:
    # Excel hands us typed cells; the standard wants text, so date cells become
    # ISO dates and whole numbers lose their '.0'. Large numbers (an ID typed as
    # a number) keep Excel's scientific form: those digits are lost for good.
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.6G}" if abs(v) >= 1e15 else repr(v)
    if isinstance(v, int):
        return str(v)
    return str(v)


def _read_xlsx(con, contract: SourceContract, path: Path, table: str) -> ReadResult:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for zip/xml damage
        raise DeliveryRefused(path, f"not a readable xlsx workbook ({exc.__class__.__name__})") from None
    sheet_name = contract.file.sheet
    if sheet_name not in book.sheet_names:
        raise DeliveryRefused(path, f"sheet {sheet_name!r} not found (sheets: {', '.join(book.sheet_names)})")
    rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    if not rows:
        raise DeliveryRefused(path, "sheet is empty")
    headers = [(_cell_text(h) or "").strip() for h in rows[0]]
    while headers and not headers[-1]:
        headers.pop()
    notes = _check_headers(contract, path, headers)
    width = len(headers)
    data, lines, rejects = [], [], []
    for i, row in enumerate(rows[1:], start=2):
        cells = [_cell_text(v) for v in row]
        if all(c is None for c in cells):
            continue  # blank sheet row: not a record
        if any(c is not None for c in cells[width:]):
            rejects.append((i, "wrong_column_count", f"values beyond the {width} header columns",
                            ",".join("" if c is None else c for c in cells)))
            continue
        cells = (cells + [None] * width)[:width]
        data.append(cells)
        lines.append(i)
    _load_text_rows(con, table, headers, data, lines)
    rej = pd.DataFrame(rejects, columns=REJECT_COLUMNS) if rejects else _empty_rejects()
    return ReadResult(table, headers, len(data) + len(rej), rej, notes)
