"""Read one delivered file into a DuckDB table of text columns, one row per data line.

Every reader returns the same thing: a table named by the caller whose columns
are the file's headers (all VARCHAR) plus ``__line_no`` (the line as an editor
shows it, header = 1; for xlsx the sheet row), and the lines it could not read,
each with a rule and a message. A file that cannot be used as a whole raises
``DeliveryRefused`` with a one-line reason.
"""

from __future__ import annotations

import csv
import hashlib
import datetime as dt
import io
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from shiyou.contracts.model import SourceContract
from shiyou.shortage import shortage
from shiyou.sql import quote_ident

LINE_NO = "__line_no"

# A free-text field may be long; the csv module's 128 KiB default would stop the whole file.
csv.field_size_limit(1 << 30)


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
    sha256: str = ""


REJECT_COLUMNS = ["line_no", "rule", "message", "raw"]


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "line_no" else "object") for c in REJECT_COLUMNS})


def read_delivery(con: duckdb.DuckDBPyConnection, contract: SourceContract, path: Path, table: str,
                  scratch_dir: Path, expected_sha256: str | None = None) -> ReadResult:
    """Read the file's bytes once; what is parsed is exactly what `sha256` describes."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if expected_sha256 and sha != expected_sha256:
        raise DeliveryRefused(path, "file changed while the run was reading it (still being written?); "
                                    "it is taken on the next run")
    if not data:
        raise DeliveryRefused(path, "empty file (0 bytes); the source keeps its last good snapshot")
    if contract.file.format == "xlsx":
        result = _read_xlsx(con, contract, path, data, table)
    else:
        result = _read_text(con, contract, path, data, table, scratch_dir)
    result.sha256 = sha
    if result.rows_read == 0:
        raise DeliveryRefused(path, "file has a header but no records; an empty snapshot is never taken as 'everyone left'")
    return result


# --------------------------------------------------------------------------- headers


def _check_headers(contract: SourceContract, path: Path, headers: list[str]) -> list[str]:
    """Refuse a header the pipeline cannot use. Messages name contract columns and counts only:
    a file delivered without its header row has a data row here, and data is never echoed."""
    if not headers or all(not h for h in headers):
        raise DeliveryRefused(path, "no header row", 1)
    if any(not h for h in headers):
        raise DeliveryRefused(path, f"header has {sum(not h for h in headers)} empty column name(s)", 1)
    if any("\x00" in h or h.startswith("__") for h in headers):
        raise DeliveryRefused(path, "header has a column name with a NUL or a leading '__' (reserved)", 1)
    folded = [h.casefold() for h in headers]
    if len(set(folded)) != len(folded):  # SQL names ignore case: XM and xm are one column
        raise DeliveryRefused(path, f"header repeats {len(folded) - len(set(folded))} column name(s)", 1)
    missing = [h for h in contract.required_headers() if h not in headers]
    if missing:
        hint = ""
        if len(missing) == len(contract.required_headers()):
            hint = f" (is the file really {contract.file.encoding}, with its header row?)"
        raise DeliveryRefused(path, f"required column(s) missing: {', '.join(missing)}{hint}", 1)
    extra = [h for h in headers if h not in contract.headers()]
    return [f"{len(extra)} column(s) not in the contract, ignored"] if extra else []


# --------------------------------------------------------------------------- text (csv / pipe)


def _decode(contract: SourceContract, path: Path, data: bytes) -> str:
    enc = contract.file.encoding
    try:
        text = data.decode("utf-8-sig" if enc.startswith("utf-8") else enc)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DeliveryRefused(path, f"not valid {enc} text (byte {exc.start}); is the file in another encoding?", line) from None
    return text


def _read_text(con, contract: SourceContract, path: Path, data: bytes, table: str, scratch_dir: Path) -> ReadResult:
    """Lines are judged with numpy over the file's bytes, parsed by DuckDB.

    numpy finds the line ends and counts the delimiters of every line at once,
    so it decides which lines have the header's number of fields and knows
    their editor line numbers; DuckDB parses only the good lines (from a clean
    UTF-8 copy in the scratch folder) and the line numbers are attached by
    position. DuckDB's own reader is not trusted with the field count: it takes
    one extra, empty, trailing field as a trailing delimiter and loads the line
    shifted by a column. A line holding a quote character is counted by the csv
    module (a quoted field may hold the delimiter).
    """
    text = _text_of(contract, path, data)
    delim, quote = contract.file.delimiter, contract.file.quote
    ends_clean = text.endswith("\n")
    lines = _Lines(_utf8_of(contract, data, text), ends_clean, has_cr="\r" in text)
    quoted = bool(quote) and quote in text  # no quote character anywhere: no line needs the csv module
    del text  # the bytes are what is parsed; the csv fallback decodes again
    n_physical = len(lines)
    header_line = lines.text(0)
    if quote:
        headers = next(csv.reader([header_line], delimiter=delim, quotechar=quote))
    else:
        headers = header_line.split(delim)
    headers = [h.strip() for h in headers]
    notes = _check_headers(contract, path, headers)
    width = len(headers)

    if quoted:
        quotes = lines.count(quote)
        if (quotes % 2).any():
            # A quoted field spans lines (or a quote never closes): only a real CSV
            # parser can tell records from lines here.
            return _slow(con, contract, _text_of(contract, path, data), headers, table, ends_clean, n_physical, notes)
    fields = lines.count(delim) + 1
    if quoted:
        for i in np.flatnonzero(quotes):
            fields[i] = _field_count(lines.text(i), delim, quote)
    record = lines.ends > lines.starts  # a blank line is not a record
    record[:1] = False  # the header
    good = record & (fields == width)
    good_lines = np.flatnonzero(good) + 1
    rejects = [(int(i) + 1, "wrong_column_count", f"expected: {width} fields, found: {int(fields[i])}", lines.text(i))
               for i in np.flatnonzero(record & (fields != width))]
    clean = scratch_dir / f"{table}.clean.csv"
    good[0] = True  # the header line heads the clean copy
    lines.write(clean, good)
    del lines, fields, record, good

    con.register("__line_numbers", pa.table({LINE_NO: pa.array(good_lines, type=pa.int64())}))
    rej, scan = f"{table}__rejects", f"{table}__scan"
    con.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
    try:
        con.execute(
            f"""CREATE TEMP TABLE {quote_ident(table)} AS
                SELECT * FROM read_csv(?, header=true, auto_detect=false, columns=?, delim=?, quote=?, escape=?,
                    store_rejects=true, rejects_table=?, rejects_scan=?, strict_mode=true, encoding='utf-8',
                    null_padding=false)
                POSITIONAL JOIN __line_numbers""",
            [str(clean), {h: "VARCHAR" for h in headers}, delim, quote or "", quote or "", rej, scan],
        )
        duck_rejects = con.execute(f"SELECT count(*) FROM {quote_ident(rej)}").fetchall()[0][0]
    except duckdb.Error as exc:
        if shortage(exc):  # out of memory or disk: the csv module would only run out later
            raise
        duck_rejects = -1  # e.g. a lone carriage return inside a line: DuckDB stops, the csv module does not
    finally:
        con.unregister("__line_numbers")
    con.execute(f"DROP TABLE IF EXISTS {quote_ident(rej)}; DROP TABLE IF EXISTS {quote_ident(scan)}")
    clean.unlink(missing_ok=True)
    if duck_rejects:
        # DuckDB refused a line the field count accepted (odd quoting): positions
        # no longer line up, so the csv module decides the whole file.
        return _slow(con, contract, _text_of(contract, path, data), headers, table, ends_clean, n_physical, notes)
    rejects_out = pd.DataFrame(rejects, columns=REJECT_COLUMNS) if rejects else _empty_rejects()
    rejects_out = _mark_truncated_tail(rejects_out, ends_clean, n_physical)
    return ReadResult(table, headers, len(good_lines) + len(rejects_out), rejects_out, notes)


def _text_of(contract: SourceContract, path: Path, data: bytes) -> str:
    """The file decoded (refused if it is not valid in its encoding), without a byte order mark."""
    text = _decode(contract, path, data)
    return text[1:] if text.startswith("\ufeff") else text


_BOM = b"\xef\xbb\xbf"


def _utf8_of(contract: SourceContract, data: bytes, text: str) -> np.ndarray:
    """`text` as UTF-8 bytes; for a UTF-8 file a view of `data` after the mark(s) `_text_of` removed."""
    if not contract.file.encoding.startswith("utf-8"):
        return np.frombuffer(text.encode("utf-8"), np.uint8)
    start = 3 if data.startswith(_BOM) else 0  # utf-8-sig's, then _text_of's
    if data.startswith(_BOM, start):
        start += 3
    return np.frombuffer(data, np.uint8, offset=start)


class _Lines:
    """The physical lines of UTF-8 bytes, as `_physical_lines` cuts them (LF or CRLF; a final
    line end does not start another line), held as start/end offsets: no object per line."""

    def __init__(self, b: np.ndarray, ends_clean: bool, has_cr: bool = True):
        # has_cr=False: the caller knows there is no CR (a string search, where comparing every
        # byte made a mask of the whole file: 0.2 s for the police's 279 MB at 1M residents).
        cr = np.flatnonzero(b == 13) if has_cr else np.empty(0, np.int64)
        if len(cr):  # one CR right before a line end (or at the very end) belongs to it
            after = cr + 1
            at_end = after == len(b)
            before_lf = np.zeros(len(cr), bool)
            before_lf[~at_end] = b[after[~at_end]] == 10
            b = np.delete(b, cr[at_end | before_lf])
        lf = np.flatnonzero(b == 10)
        self.b = b
        self.starts = np.concatenate(([0], lf + 1))
        self.ends = np.concatenate((lf, [len(b)]))
        if ends_clean:
            self.starts, self.ends = self.starts[:-1], self.ends[:-1]

    def __len__(self) -> int:
        return len(self.starts)

    def text(self, i: int) -> str:
        return self.b[self.starts[i]:self.ends[i]].tobytes().decode("utf-8")

    def count(self, sub: str) -> np.ndarray:
        """Per line, how often `sub` occurs (non-overlapping, as str.count)."""
        token = sub.encode("utf-8")
        if len(token) != 1 or token == b"\n":  # a multi-byte delimiter or quote: per line, in Python (rare)
            return np.array([self.text(i).count(sub) for i in range(len(self))], dtype=np.int64)
        at = np.flatnonzero(self.b == token[0])
        return np.searchsorted(at, self.ends) - np.searchsorted(at, self.starts)

    def write(self, path: Path, keep: np.ndarray) -> None:
        """The kept lines, each ended by LF; a run of consecutive kept lines is one slice of the bytes."""
        edges = np.diff(np.concatenate(([0], keep.astype(np.int8), [0])))
        firsts, lasts = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
        with path.open("wb") as fh:
            for i, j in zip(firsts, lasts):
                fh.write(self.b[self.starts[i]:self.ends[j]])
                fh.write(b"\n")


def _slow(con, contract, text, headers, table, ends_clean, n_physical, notes) -> ReadResult:
    rejects_out = _read_text_slow(con, contract, text, headers, table)
    n_ok = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchone()[0]
    rejects_out = _mark_truncated_tail(rejects_out, ends_clean, n_physical)
    return ReadResult(table, headers, n_ok + len(rejects_out), rejects_out.reset_index(drop=True), notes)


def _physical_lines(text: str) -> list[str]:
    """The lines an editor shows (LF or CRLF; a final line end does not start another line)."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def _field_count(line: str, delim: str, quote: str | None) -> int:
    if quote and quote in line:
        try:
            return len(next(csv.reader([line], delimiter=delim, quotechar=quote)))
        except csv.Error:
            return -1
    return line.count(delim) + 1


def _mark_truncated_tail(rejects: pd.DataFrame, ends_clean: bool, physical_lines: int) -> pd.DataFrame:
    """A short last line without a newline is a transfer cut short, not a bad record."""
    if rejects.empty or ends_clean:
        return rejects
    last = rejects["line_no"] == physical_lines
    if last.any() and (rejects.loc[last, "rule"] == "wrong_column_count").all():
        rejects = rejects.copy()
        rejects.loc[last, "rule"] = "truncated_line"
        rejects.loc[last, "message"] = "last line is cut short (no line end, too few fields): delivery was truncated"
    return rejects


def _read_text_slow(con, contract: SourceContract, text: str, headers: list[str], table: str) -> pd.DataFrame:
    """Records that may span lines (quoted newlines), told apart line by line.

    A record starts at a line and takes following lines only while a quote is
    open. If the record it makes has the wrong number of fields, only its first
    line is rejected and reading resumes on the next line: an unclosed quote
    must not swallow the good records after it.
    """
    delim, quote = contract.file.delimiter, contract.file.quote
    width = len(headers)
    lines = _physical_lines(text)
    rows, numbers, rejects = [], [], []
    i = 1
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue  # blank line: not a record
        j, chunk = i, lines[i]
        while quote and chunk.count(quote) % 2 and j + 1 < len(lines):
            j += 1
            chunk += "\n" + lines[j]
        try:
            fields = next(csv.reader([chunk], delimiter=delim, quotechar=quote or '"',
                                     quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE, strict=False))
        except csv.Error:
            fields = []
        if len(fields) == width:
            rows.append(fields)
            numbers.append(i + 1)
            i = j + 1
        else:
            n = _field_count(lines[i], delim, quote) if j > i else len(fields)
            rejects.append((i + 1, "wrong_column_count", f"expected: {width} fields, found: {n}", lines[i]))
            i += 1
    _load_text_rows(con, table, headers, rows, numbers)
    return pd.DataFrame(rejects, columns=REJECT_COLUMNS) if rejects else _empty_rejects()


def _load_text_rows(con, table: str, headers: list[str], rows: list[list], lines: list[int]) -> None:
    """Rows of text cells → a VARCHAR table (typed as text up front: a column blank for its
    first thousand rows must not be guessed as NULL-typed)."""
    columns = list(zip(*rows)) if rows else [() for _ in headers]
    _load_text_arrays(con, table, headers, [pa.array(col, type=pa.string()) for col in columns], lines)


def _load_text_arrays(con, table: str, headers: list[str], arrays: list[pa.Array], lines) -> None:
    arrays = [*arrays, pa.array(lines, type=pa.int64())]
    arrow = pa.Table.from_arrays(arrays, names=[*headers, LINE_NO])
    con.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
    con.register("__text_rows", arrow)
    con.execute(f"CREATE TEMP TABLE {quote_ident(table)} AS SELECT * FROM __text_rows")
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
        return f"{v:.15G}" if abs(v) >= 1e15 else repr(v)  # the 15 digits Excel keeps
    if isinstance(v, int):
        return str(v)
    return str(v)


def _read_xlsx(con, contract: SourceContract, path: Path, data: bytes, table: str) -> ReadResult:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
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
    # Column by column: each cell becomes text once (a comprehension per column, the common
    # text cell kept as it is), then blank rows and rows with values beyond the header are
    # found with Arrow masks rather than row by row.
    body = rows[1:]
    columns = [[(v if v != "" else None) if type(v) is str else _cell_text(v) for v in col]
               for col in itertools.zip_longest(*body, fillvalue=None)]
    while len(columns) < width:
        columns.append([None] * len(body))
    arrays = [pa.array(col, type=pa.string()) for col in columns]
    filled = [np.asarray(a.is_valid()) for a in arrays]
    any_cell = np.logical_or.reduce(filled) if filled else np.zeros(len(body), bool)
    beyond = np.logical_or.reduce(filled[width:]) if len(filled) > width else np.zeros(len(body), bool)
    keep = any_cell & ~beyond  # a blank sheet row is not a record
    rejects = [(int(i) + 2, "wrong_column_count", f"values beyond the {width} header columns",
                ",".join("" if c is None else c for c in map(_cell_text, body[i])))
               for i in np.flatnonzero(beyond)]
    mask = pa.array(keep)
    lines = np.flatnonzero(keep) + 2
    _load_text_arrays(con, table, headers, [a.filter(mask) for a in arrays[:width]], lines)
    rej = pd.DataFrame(rejects, columns=REJECT_COLUMNS) if rejects else _empty_rejects()
    return ReadResult(table, headers, len(lines) + len(rej), rej, notes)
