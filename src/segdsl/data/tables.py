"""The data layer: profile tables as typed numpy columns, and the seed CSV convention.

A :class:`Table` holds one exact encoding per schema kind (decimals as scaled integers,
timestamps as UTC microseconds) so the columnar evaluator compares exactly what every
SQL engine stores. CSV files follow one convention, read and written here:

* UTF-8, a header row of column names, comma-separated, RFC 4180 quoting, ``\\n`` rows;
* NULL is an empty *unquoted* field, the empty string is ``""``;
* ints ``-?[0-9]+``; decimals plain ``1234.50`` (extra places round half-up, like
  Postgres); floats as Python's ``repr`` (``inf`` allowed, NaN rejected); bools
  ``true``/``false``; dates ``YYYY-MM-DD``; timestamps ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``
  (a ``+HH:MM`` offset is accepted and converted to UTC); tags a JSON array of strings.

Bad data raises :class:`DataError` naming the file, the CSV line and the column.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from segdsl.ir.semantics import INT64_MAX, INT64_MIN, MAX_ORDINAL, MIN_ORDINAL, UTC, scale_decimal, unscale
from segdsl.schema.model import Field, Kind, Schema

EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
US_PER_DAY = 86_400 * 1_000_000
#: Timestamps must stay inside Python's years 1..9999 once converted to UTC.
MIN_US = (MIN_ORDINAL - EPOCH_ORDINAL) * US_PER_DAY
MAX_US = (MAX_ORDINAL + 1 - EPOCH_ORDINAL) * US_PER_DAY - 1


def date_code(d: dt.date) -> int:
    """A date as a date column stores it: days since 1970-01-01."""
    return d.toordinal() - EPOCH_ORDINAL


def timestamp_code(instant: dt.datetime) -> int:
    """An aware instant as a timestamp column stores it: microseconds since the epoch."""
    return (instant - EPOCH) // dt.timedelta(microseconds=1)


class DataError(ValueError):
    """A value that does not fit the schema, with where it was found."""

    def __init__(self, path: str, line: int | None, column: str | None, message: str):
        self.path = str(path)
        self.line = line
        self.column = column
        self.message = message
        where = self.path + (f":{line}" if line is not None else "")
        col = f" column `{column}`:" if column is not None else ""
        super().__init__(f"{where}:{col} {message}")


@attrs.define(eq=False)
class Column:
    """One column: ``values`` in the kind's encoding, ``valid`` False where NULL."""

    values: np.ndarray
    valid: np.ndarray


@attrs.define(eq=False)
class Table:
    """Profile rows of one schema, column by column, keyed by each field's ``column``."""

    schema: Schema
    columns: dict[str, Column]
    n_rows: int

    def keys(self) -> list[Any]:
        """The key values in row order."""
        return _decode_column(self.schema.key, self.columns[self.schema.key.column])

    def records(self) -> list[dict[str, Any]]:
        """Each row as ``{column: python value}`` (None for NULL)."""
        decoded = {f.column: _decode_column(f, self.columns[f.column]) for f in stored_fields(self.schema)}
        names = list(decoded)
        return [dict(zip(names, row)) for row in zip(*decoded.values())] if names else []

    def iter_rows(self, columns: Sequence[str], batch: int = 65_536) -> Iterator[tuple[Any, ...]]:
        """Each row as a tuple of the python values of ``columns`` (None for a column
        the table does not store), as :meth:`records` decodes them; decoded ``batch``
        rows at a time, so a large table is never held as Python objects all at once."""
        by_column = {f.column: f for f in stored_fields(self.schema)}
        for lo in range(0, self.n_rows, batch):
            hi = min(lo + batch, self.n_rows)
            decoded = []
            for name in columns:
                f = by_column.get(name)
                if f is None:
                    decoded.append([None] * (hi - lo))
                else:
                    decoded.append(_decode_column(f, _slice(self.columns[name], lo, hi)))
            yield from zip(*decoded) if columns else (() for _ in range(hi - lo))

    @classmethod
    def from_columns(cls, schema: Schema, columns: Mapping[str, Sequence[Any]], path: str = "<columns>") -> Table:
        """Build a table from python values column by column (every stored column, all of
        one length), checked and encoded as :meth:`from_records` does. Lists of values
        cost a pointer a cell; records cost a dict a row, ten times more."""
        fields = stored_fields(schema)
        missing = [f.column for f in fields if f.column not in columns]
        if missing:
            raise DataError(path, None, missing[0], "no values for this column")
        lengths = {len(columns[f.column]) for f in fields}
        if len(lengths) > 1:
            raise DataError(path, None, None, f"columns of different lengths: {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        built = {}
        for f in fields:
            encode = _ENCODERS[f.kind]
            built[f.column] = _build_column(f, columns[f.column], lambda v, f=f, encode=encode: encode(f, v), path,
                                            lambda i: None, lambda i: f"row {i + 1}: ")
        table = cls(schema, built, n)
        _check_unique_keys(table, path, lambda i: None, lambda i: f"row {i + 1}: ")
        return table

    @classmethod
    def from_records(cls, schema: Schema, records: Iterable[Mapping[str, Any]], path: str = "<records>") -> Table:
        """Build a table from python values (as :meth:`records` returns them); every
        stored column must be present in every record."""
        records = list(records)
        columns: dict[str, Column] = {}
        for f in stored_fields(schema):
            encode = _ENCODERS[f.kind]
            raw = []
            for i, rec in enumerate(records):
                if f.column not in rec:
                    raise DataError(path, None, f.column, f"record {i + 1} has no value for this column")
                raw.append(rec[f.column])
            columns[f.column] = _build_column(f, raw, lambda v, f=f, encode=encode: encode(f, v), path,
                                              lambda i: None, lambda i: f"record {i + 1}: ")
        table = cls(schema, columns, len(records))
        _check_unique_keys(table, path, lambda i: None, lambda i: f"record {i + 1}: ")
        return table


def stored_fields(schema: Schema) -> list[Field]:
    return schema.stored_fields()


# ------------------------------------------------------------------------ reading CSV


def load_table(schema: Schema, data_dir: str | Path, *, columns: Iterable[str] | None = None) -> Table:
    """``<table>.csv`` in ``data_dir``; see :func:`read_csv` for ``columns``."""
    return read_csv(schema, Path(data_dir) / f"{schema.table}.csv", columns=columns)


#: Bytes of CSV per Arrow batch (and per UTF-8 check): a batch's text is converted and
#: let go before the next is read, so a file's memory is about its table's, not its text's.
#: On 17 million rows 16 MiB was as fast as 4 MiB and a quarter faster than 64 MiB.
_READ_BLOCK = 1 << 24


def read_csv(schema: Schema, path: str | Path, *, columns: Iterable[str] | None = None) -> Table:
    """The table in ``path``: a header row naming at least the schema's stored columns,
    then one row per record. The file is streamed: it is never held whole, as bytes or
    as text, so a file larger than memory loads if its table fits. With ``columns``,
    only those stored columns and the key are read (and required in the header); the
    table then holds just them."""
    path = Path(path)
    header_text = _check_utf8(path)
    # Lines split as io.StringIO(newline="") would, but lazily: only the header's are read.
    with _cells_of_any_size():
        header = next(csv.reader(m.group() for m in _LINE.finditer(header_text.removeprefix("\ufeff"))), None)
    if not header:
        raise DataError(str(path), 1, None, "the file is empty; expected a header row of column names")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(str(path), 1, name, "the header names this column twice")
        seen.add(name)
    fields = stored_fields(schema)
    if columns is not None:
        wanted = {*columns, schema.key.column}
        fields = [f for f in fields if f.column in wanted]
    for f in fields:
        if f.column not in seen:
            what = f"field `{f.name}`" if f.name != f.column else "a schema field"
            raise DataError(str(path), 1, f.column,
                            f"the header has no column `{f.column}` ({what}); columns are {', '.join(header)}")
    names = [f.column for f in fields]
    lines = _RowLines(path)
    bad_rows: list[Any] = []

    def on_invalid(row) -> str:
        bad_rows.append(row)
        return "error"

    parts: dict[str, list[Column]] = {name: [] for name in names}
    n_rows = 0
    try:
        reader = pacsv.open_csv(
            str(path),
            read_options=pacsv.ReadOptions(block_size=_READ_BLOCK, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                include_columns=names,
                # Only an empty unquoted field is NULL; "" stays the empty string and
                # words like NULL or NA stay text.
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        with reader:
            for batch in reader:
                # Each batch's text is converted, column by column, and let go.
                for f in fields:
                    cells = pa.chunked_array([batch.column(f.column)])
                    parts[f.column].append(_convert_cells(f, cells, str(path), n_rows, lines))
                n_rows += batch.num_rows
                del batch, cells
    except pa.ArrowInvalid as exc:
        if bad_rows:
            line = lines.first_bad_width(len(header))
            row = bad_rows[0]
            raise DataError(str(path), line, None,
                            f"expected {row.expected_columns} fields, found {row.actual_columns}") from None
        raise DataError(str(path), None, None, f"cannot parse the CSV: {exc}") from None
    except OSError as exc:
        raise DataError(str(path), None, None, f"cannot read the file: {exc.strerror or exc}") from None
    columns: dict[str, Column] = {}
    for f in fields:
        columns[f.column] = _concat(f, parts.pop(f.column))
        _release_freed_memory()  # the column's parts, before the next column is built
    table = Table(schema, columns, n_rows)
    _check_unique_keys(table, str(path), lines.line, lambda i: "")
    return table


def _release_freed_memory() -> None:
    """Hand freed memory back to the system. The batches' text (Arrow's pool) and a
    column's per-batch parts (the C heap, once concatenated into a new mapping) are freed
    by then, but both allocators keep freed pages for reuse; without this, loading 17
    million rows left about as much again as the table itself resident, and the peak
    was table plus parts plus concatenated columns."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None on a C library without it."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _convert_cells(f: Field, cells: pa.ChunkedArray, path: str, first_row: int, lines: _RowLines) -> Column:
    """One batch of a column's cells in its encoding; an error names the cell's line
    (row ``first_row + i`` of the file)."""
    parse = _PARSERS[f.kind]
    column = _fast_column(f, cells) or _build_column_by_value(f, cells, parse)
    if column is None:
        column = _build_column(f, cells.to_pylist(), lambda s, f=f, parse=parse: parse(f, s), path,
                               lambda i: lines.line(first_row + i), lambda i: "")
    return column


def _concat(f: Field, parts: list[Column]) -> Column:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        dtype = np.dtype(object) if f.kind in (Kind.TEXT, Kind.ENUM, Kind.TAGS) else np.dtype(_NUMPY[f.kind][0])
        return Column(np.empty(0, dtype=dtype), np.empty(0, dtype=bool))
    values = np.concatenate([c.values for c in parts])
    valid = np.concatenate([c.valid for c in parts])
    parts.clear()
    return Column(values, valid)


def _check_utf8(path: Path) -> str:
    """The text of the file's first block (for its header), after checking, a block at a
    time, that the whole file is UTF-8; an error gives the line and byte offset."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    first: str | None = None
    offset = 0  # bytes of the file before `block`
    try:
        with path.open("rb") as f:
            while True:
                block = f.read(_READ_BLOCK)
                pending = len(decoder.getstate()[0])
                try:
                    text = decoder.decode(block, final=not block)
                except UnicodeDecodeError as exc:
                    _bad_utf8(path, offset - pending + exc.start)
                if first is None:
                    first = text
                if not block:
                    return first
                offset += len(block)
                del text
    except OSError as exc:
        raise DataError(str(path), None, None, f"cannot read the file: {exc.strerror or exc}") from None


def _bad_utf8(path: Path, at: int):
    line = 1
    with path.open("rb") as f:
        done = 0
        while done < at:
            block = f.read(min(_READ_BLOCK, at - done))
            if not block:
                break
            line += block.count(b"\n")
            done += len(block)
    raise DataError(str(path), line, None, f"not valid UTF-8 (byte offset {at})") from None


@contextlib.contextmanager
def _cells_of_any_size():
    """Python's csv module refuses a cell over 131,072 characters (a process-wide limit);
    Arrow, which reads the rows, has none, so neither may the re-reading that finds an
    error's line. The limit is restored after."""
    old = csv.field_size_limit(_CELL_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(old)


#: The largest value the limit takes everywhere (a C long on every platform).
_CELL_LIMIT = 2**31 - 1

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


class _RowLines:
    """Maps a data row to the CSV line it starts on; computed only when an error needs it
    (quoted newlines make rows and lines differ), by reading the file again."""

    def __init__(self, path: Path):
        self.path = path
        self.starts: list[int] | None = None
        self.widths: list[int] = []

    def _scan(self) -> list[int]:
        if self.starts is None:
            starts, widths = [], []
            with self.path.open(encoding="utf-8-sig", newline="") as f, _cells_of_any_size():
                reader = csv.reader(f)
                next(reader, None)
                while True:
                    start = reader.line_num + 1
                    row = next(reader, None)
                    if row is None:
                        break
                    if row:  # blank lines are skipped by the parser, not counted as rows
                        starts.append(start)
                        widths.append(len(row))
            self.starts, self.widths = starts, widths
        return self.starts

    def line(self, row: int) -> int | None:
        starts = self._scan()
        return starts[row] if row < len(starts) else None

    def first_bad_width(self, width: int) -> int | None:
        starts = self._scan()
        return next((s for s, w in zip(starts, self.widths) if w != width), None)


def _build_column(f: Field, cells: Sequence[Any], convert: Callable[[Any], Any], path: str,
                  line_of: Callable[[int], int | None], prefix: Callable[[int], str]) -> Column:
    n = len(cells)
    valid = np.fromiter((c is not None for c in cells), dtype=bool, count=n)
    out: list[Any] = [None] * n
    for i, cell in enumerate(cells):
        if cell is None:
            if not f.nullable:
                raise DataError(path, line_of(i), f.column, f"{prefix(i)}`{f.name}` is not nullable, but the value is NULL")
            continue
        try:
            out[i] = convert(cell)
        except ValueError as exc:
            raise DataError(path, line_of(i), f.column, f"{prefix(i)}{exc}") from None
    return Column(_to_array(f.kind, out, valid), valid)


def _build_column_by_value(f: Field, cells: pa.ChunkedArray, parse: Callable[[Field, str], Any]) -> Column | None:
    """The column with each distinct cell parsed once (columns of few distinct values,
    such as enums and tags, repeat them millions of times); None when a cell is NULL in
    a non-nullable column or a value does not parse, for ``_build_column`` to report
    the first bad row."""
    valid = cells.is_valid().to_numpy(zero_copy_only=False).astype(bool, copy=False)
    if not f.nullable and not valid.all():
        return None
    distinct = pc.unique(cells).drop_null()
    if len(distinct) > max(len(cells) // 4, 1024):
        return None  # mostly distinct: one pass per cell is cheaper
    parsed = np.empty(len(distinct) + 1, dtype=object)  # the last slot stays None, for NULLs
    try:
        for i, s in enumerate(distinct.to_pylist()):
            parsed[i] = parse(f, s)
    except ValueError:
        return None
    index = pc.index_in(cells, value_set=distinct).fill_null(len(distinct)).to_numpy(zero_copy_only=False)
    return Column(_to_array(f.kind, parsed[index].tolist(), valid), valid)


def _to_array(kind: Kind, values: list[Any], valid: np.ndarray) -> np.ndarray:
    if kind in (Kind.TEXT, Kind.ENUM, Kind.TAGS):
        # fromiter, not np.array: a list of equal-length values must not become 2-D.
        return np.fromiter(values, dtype=object, count=len(values))
    dtype, fill = _NUMPY[kind]
    return np.array([fill if v is None else v for v in values], dtype=dtype)


_NUMPY = {
    Kind.INT: (np.int64, 0), Kind.DECIMAL: (np.int64, 0), Kind.FLOAT: (np.float64, 0.0),
    Kind.BOOL: (np.bool_, False), Kind.DATE: (np.int64, 0), Kind.TIMESTAMP: (np.int64, 0),
}


def _check_unique_keys(table: Table, path: str, line_of, prefix) -> None:
    key = table.schema.key
    values = table.columns[key.column].values
    if values.dtype != object:
        ordered = np.sort(values)
        if not (ordered[1:] == ordered[:-1]).any():
            return
    elif len(set(values.tolist())) == len(values):
        return
    # A repeat: find the first one in row order, for the message.
    seen: dict[Any, int] = {}
    for i, k in enumerate(table.columns[key.column].values.tolist()):
        if k in seen:
            j = seen[k]
            first = f"line {line_of(j)}" if line_of(j) is not None else prefix(j).rstrip(": ") or f"row {j + 1}"
            raise DataError(path, line_of(i), key.column, f"{prefix(i)}the key {k!r} appears twice (first at {first})")
        seen[k] = i


# --------------------------------------------------------------- text → encoding

_INT_RE = re.compile(r"-?[0-9]+")
_DEC_RE = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_FLOAT_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_INF_RE = re.compile(r"[-+]?inf(?:inity)?", re.IGNORECASE)
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TS_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)


def _short(s: str) -> str:
    return repr(s if len(s) <= 40 else s[:37] + "...")


def _parse_int(f: Field, s: str) -> int:
    if not _INT_RE.fullmatch(s):
        raise ValueError(f"{_short(s)} is not an integer (digits with an optional leading `-`)")
    return _check_int(int(s))


def _check_int(v: int) -> int:
    if not INT64_MIN <= v <= INT64_MAX:
        raise ValueError(f"{v} is outside the 64-bit integer range")
    return v


def _parse_decimal(f: Field, s: str) -> int:
    m = _DEC_RE.fullmatch(s)
    if not m:
        raise ValueError(f"{_short(s)} is not a plain decimal number like 1234.50")
    scale = f.type.scale or 0
    # The exact decimal the text spells (never a float); extra places round half away
    # from zero as Postgres numeric does (0.125 -> 0.13, not 0.12).
    try:
        return _check_decimal(f, scale_decimal(Decimal(s), scale))
    except ValueError as exc:
        raise ValueError(f"{s}: {exc}" if len(m.group(3) or "") > scale else str(exc)) from None


def _check_decimal(f: Field, scaled: int) -> int:
    if abs(scaled) >= 10 ** (f.type.precision or 0):
        value = unscale(scaled, f.type.scale or 0)
        raise ValueError(f"{value} does not fit {f.type} (at most {f.type.precision} digits)")
    return scaled


def _parse_float(f: Field, s: str) -> float:
    if s.lower().lstrip("+-") == "nan":
        raise ValueError("NaN is not allowed: engines disagree about how it compares; leave the cell empty for NULL")
    if _INF_RE.fullmatch(s):
        return float(s)
    if not _FLOAT_RE.fullmatch(s):
        raise ValueError(f"{_short(s)} is not a number")
    v = float(s)
    if v in (float("inf"), float("-inf")):
        raise ValueError(f"{_short(s)} is too large for a float")
    return v


def _parse_bool(f: Field, s: str) -> bool:
    if s == "true":
        return True
    if s == "false":
        return False
    raise ValueError(f"{_short(s)} is not a boolean; write `true` or `false`")


def _parse_date(f: Field, s: str) -> int:
    m = _DATE_RE.fullmatch(s)
    try:
        if not m:
            raise ValueError
        d = dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"{_short(s)} is not a date (YYYY-MM-DD)") from None
    return date_code(d)


def _parse_timestamp(f: Field, s: str) -> int:
    m = _TS_RE.fullmatch(s)
    if not m:
        raise ValueError(f"{_short(s)} is not a timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff]Z or with +HH:MM)")
    try:
        d = dt.date(int(m[1]), int(m[2]), int(m[3]))
        t = dt.time(int(m[4]), int(m[5]), int(m[6]))
    except ValueError:
        raise ValueError(f"{_short(s)} is not a valid date and time") from None
    micro = int((m[7] or "").ljust(6, "0"))
    offset = 0
    if m[8] != "Z":
        hours, minutes = int(m[8][1:3]), int(m[8][4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(f"{_short(s)} has an invalid UTC offset")
        offset = (hours * 60 + minutes) * 60_000_000 * (-1 if m[8][0] == "-" else 1)
    us = ((d.toordinal() - EPOCH_ORDINAL) * US_PER_DAY
          + ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + micro - offset)
    return _check_us(us, s)


def _check_us(us: int, text: Any) -> int:
    if not MIN_US <= us <= MAX_US:
        raise ValueError(f"{text} is outside the years 1-9999 in UTC")
    return us


def _parse_text(f: Field, s: str) -> str:
    return _check_text(f, s)


def _check_text(f: Field, s: str) -> str:
    if "\x00" in s:
        raise ValueError("text contains a NUL character, which Postgres cannot store")
    if f.kind is Kind.ENUM and s not in f.type.values:
        raise ValueError(f"{_short(s)} is not a value of `{f.name}` ({', '.join(map(repr, f.type.values))})")
    return s


def _parse_tags(f: Field, s: str) -> frozenset[str]:
    try:
        value = json.loads(s)
    except (json.JSONDecodeError, RecursionError):
        value = None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValueError(f'{_short(s)} is not a JSON list of strings like ["spa", "golf"]')
    return _check_tags(f, value)


def _check_tags(f: Field, tags: Iterable[Any]) -> frozenset[str]:
    items = list(tags)
    for t in items:
        if not isinstance(t, str):
            raise ValueError(f"tag {t!r} is not a string")
        if "\x00" in t:
            raise ValueError("a tag contains a NUL character, which Postgres cannot store")
        try:
            t.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"tag {t!r} is not valid Unicode text") from None
    return frozenset(items)


_PARSERS: dict[Kind, Callable[[Field, str], Any]] = {
    Kind.INT: _parse_int, Kind.DECIMAL: _parse_decimal, Kind.FLOAT: _parse_float, Kind.BOOL: _parse_bool,
    Kind.DATE: _parse_date, Kind.TIMESTAMP: _parse_timestamp, Kind.TEXT: _parse_text, Kind.ENUM: _parse_text,
    Kind.TAGS: _parse_tags,
}


# ------------------------------------------------------- text → encoding, vectorised
#
# The CSV reader hands each column over as Arrow strings. The common kinds are
# converted here a whole column at a time: a cell is checked against the same grammar
# the per-cell parsers above enforce, and a column with any cell these checks do not
# accept (a bad value, a NULL in a non-nullable column, or a form rare enough not to
# have a fast path) goes through its per-cell parser instead, which either reads it or
# raises the usual error with its line. So the vectorised path only ever decides the
# values of columns whose every cell it fully understands.

#: Rows converted at a time, bounding the converters' temporary arrays.
_BLOCK = 1 << 16


def _fast_column(f: Field, cells: pa.ChunkedArray) -> Column | None:
    """The column in its encoding, or None to leave it to the per-cell parser."""
    convert = _FAST.get(f.kind)
    if convert is None:
        return None
    valid = cells.is_valid().to_numpy(zero_copy_only=False).astype(bool, copy=False)
    if not f.nullable and not valid.all():
        return None
    parts = []
    for whole in cells.chunks:
        for lo in range(0, len(whole), _BLOCK):  # bounds the converters' temporaries
            chunk = whole.slice(lo, _BLOCK)
            bytes_, offsets = _string_buffers(chunk)
            part = convert(f, chunk, bytes_, offsets)
            if part is None:
                return None
            parts.append(part)
    dtype = np.dtype(object) if f.kind is Kind.TEXT else np.dtype(_NUMPY[f.kind][0])
    values = np.concatenate(parts) if parts else np.empty(0, dtype=dtype)
    if values.dtype != object:
        values[~valid] = _NUMPY[f.kind][1]
    return Column(values.astype(dtype, copy=False), valid)


def _string_buffers(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string chunk's UTF-8 bytes and its ``len + 1`` offsets into them."""
    _, off, data = chunk.buffers()
    offsets = np.frombuffer(off, dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4)
    bytes_ = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, dtype=np.uint8)
    return bytes_, offsets


def _only(bytes_: np.ndarray, offsets: np.ndarray, allowed: bytes) -> bool:
    """Whether the chunk's cells use no byte outside ``allowed``."""
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(allowed, dtype=np.uint8)] = True
    return bool(table[bytes_[offsets[0]:offsets[-1]]].all())


def _matrix(bytes_: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """The first ``width`` bytes of the cells starting at ``starts`` (ascending), one
    row each."""
    if len(starts) and starts[-1] - starts[0] == (len(starts) - 1) * width:
        # Cells of this width back to back (the usual case): a view, no copy.
        return bytes_[starts[0]:starts[0] + len(starts) * width].reshape(-1, width)
    return bytes_[starts[:, None] + np.arange(width)]


def _digits(m: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The number written in columns ``lo:hi`` of a byte matrix of checked digits."""
    out = np.zeros(len(m), dtype=np.int64)
    for j in range(lo, hi):
        out = out * 10 + (m[:, j].astype(np.int64) - 48)
    return out


def _check_layout(m: np.ndarray, layout: str) -> bool:
    """Whether every row of ``m`` fits ``layout``: ``9`` a digit, ``±`` a sign, anything
    else that very character."""
    lo = np.array([48 if c == "9" else 43 if c == "±" else ord(c) for c in layout], dtype=np.uint8)
    hi = np.array([57 if c == "9" else 45 if c == "±" else ord(c) for c in layout], dtype=np.uint8)
    if not ((m >= lo) & (m <= hi)).all():
        return False
    signs = [j for j, c in enumerate(layout) if c == "±"]
    return not signs or not (m[:, signs] == 44).any()  # `,` lies between `+` and `-`


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray | None:
    """Days since 1970-01-01 of proleptic Gregorian dates, or None if any is not a real
    date of the years 1-9999 (as ``datetime.date`` would refuse)."""
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    if not ((y >= 1) & (m >= 1) & (m <= 12)).all():
        return None
    if not ((d >= 1) & (d <= month_days[m] + (leap & (m == 2)))).all():
        return None
    # Howard Hinnant's days_from_civil, in integer arithmetic.
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _cells(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's start in the chunk's bytes, and its length."""
    starts = offsets[:-1].astype(np.int64)
    return starts, (offsets[1:] - offsets[:-1]).astype(np.int64)


def _fast_int(f: Field, chunk: pa.Array, bytes_: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
    # With only digits and `-` in the cells, Arrow's integer cast accepts exactly
    # `-?[0-9]+` (no hex, no `+`, no blanks) and refuses values outside int64.
    if not _only(bytes_, offsets, b"0123456789-"):
        return None
    try:
        ints = pc.cast(chunk, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return ints.fill_null(0).to_numpy()


def _fast_bool(f: Field, chunk: pa.Array, bytes_: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
    true = pc.equal(chunk, "true")
    if pc.all(pc.or_(true, pc.equal(chunk, "false"))).as_py() is False:
        return None
    return true.fill_null(False).to_numpy(zero_copy_only=False)


def _fast_text(f: Field, chunk: pa.Array, bytes_: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
    if (bytes_[offsets[0]:offsets[-1]] == 0).any():
        return None  # a NUL: the per-cell parser names the line
    return chunk.to_numpy(zero_copy_only=False)


def _fast_float(f: Field, chunk: pa.Array, bytes_: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
    # Finite numbers only; `inf` and every error take the per-cell path.
    if not _only(bytes_, offsets, b"0123456789.eE+-"):
        return None
    if pc.all(pc.match_substring_regex(chunk, "^" + _FLOAT_RE.pattern + "$")).as_py() is False:
        return None
    try:
        floats = pc.cast(chunk, pa.float64()).fill_null(0.0).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return floats if np.isfinite(floats).all() else None


def _fast_decimal(f: Field, chunk: pa.Array, bytes_: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
    if not _only(bytes_, offsets, b"0123456789.-"):
        return None
    scale, precision = f.type.scale or 0, f.type.precision or 0
    n = len(chunk)
    valid = chunk.is_valid().to_numpy(zero_copy_only=False)
    starts, lengths = _cells(offsets)
    text = bytes_[offsets[0]:offsets[-1]]  # the cells back to back
    starts = starts - offsets[0]
    ends = starts + lengths
    if (lengths[valid] == 0).any():
        return None
    # `-?[0-9]+(\.[0-9]+)?`: a sign only first, at most one point, digits either side.
    neg = np.zeros(n, dtype=bool)
    filled = lengths > 0
    neg[filled] = text[starts[filled]] == 45
    if np.count_nonzero(text == 45) != np.count_nonzero(neg):
        return None
    dots = np.flatnonzero(text == 46)
    # Empty cells share their start with the next cell, so the last cell starting at
    # or before a byte is the one holding it.
    dot_cell = np.searchsorted(starts, dots, side="right") - 1
    if (np.diff(dot_cell) == 0).any():
        return None
    point = ends.copy()
    point[dot_cell] = dots
    has_point = np.zeros(n, dtype=bool)
    has_point[dot_cell] = True
    if not ((point > starts + neg) & (~has_point | (point < ends - 1)))[valid].all():
        return None
    # Each digit's power of ten in the scaled integer; the digit just past the scale
    # decides the half-up rounding; digits beyond it are dropped.
    cell = np.repeat(np.arange(n), lengths)
    at = np.arange(len(text))
    cell_point = point[cell]
    power = np.where(at < cell_point, cell_point - 1 - at + scale, scale - (at - cell_point))
    digit = (text >= 48) & (text <= 57)
    if (digit & (power > 17) & (text != 48)).any():
        return None  # far beyond 15 digits: the parser says why
    counted = digit & (power >= 0) & (power <= 17)
    contrib = np.where(counted, (text.astype(np.int64) - 48) * _POW10[np.clip(power, 0, 17)], 0)
    # Sums per cell from a running total (wrapping cannot matter: each cell's own sum
    # fits, and the difference is exact modulo 2**64).
    running = np.zeros(len(text) + 1, dtype=np.int64)
    np.cumsum(contrib, out=running[1:])
    scaled = running[ends] - running[starts]
    up = digit & (power == -1) & (text >= 53)
    scaled[cell[up]] += 1
    if (valid & (scaled >= 10**precision)).any():
        return None
    return np.where(neg, -scaled, scaled)


_POW10 = 10 ** np.arange(18, dtype=np.int64)


def _fast_date(f: Field, chunk: pa.Array, bytes_: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
    valid = chunk.is_valid().to_numpy(zero_copy_only=False)
    starts, lengths = _cells(offsets)
    rows = np.flatnonzero(valid)
    out = np.zeros(len(chunk), dtype=np.int64)
    if not (lengths[rows] == 10).all():
        return None
    m = _matrix(bytes_, starts[rows], 10)
    if not _check_layout(m, "9999-99-99"):
        return None
    days = _days_from_civil(_digits(m, 0, 4), _digits(m, 5, 7), _digits(m, 8, 10))
    if days is None:
        return None
    out[rows] = days
    return out


def _fast_timestamp(f: Field, chunk: pa.Array, bytes_: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
    valid = chunk.is_valid().to_numpy(zero_copy_only=False)
    starts, lengths = _cells(offsets)
    rows = np.flatnonzero(valid)
    out = np.zeros(len(chunk), dtype=np.int64)
    if not len(rows):
        return out
    widths = lengths[rows]
    if widths.min() < 20:
        return None
    single = widths.min() == widths.max()
    # One fixed layout per (length, Z or offset): 19 characters of date and time, an
    # optional fraction of 1-6 digits, then `Z` or `+HH:MM`.
    for width in [int(widths[0])] if single else np.flatnonzero(np.bincount(widths)).tolist():
        same = rows if single else rows[widths == width]
        zulu = bytes_[starts[same] + width - 1] == ord("Z")
        for z in (True, False):
            frac = width - 19 - (1 if z else 6)
            this = zulu == z
            group = same if this.all() else same[this]
            if not len(group):
                continue
            if frac < 0 or frac == 1 or frac > 7:
                return None
            layout = "9999-99-99T99:99:99" + ("." + "9" * (frac - 1) if frac else "") + ("Z" if z else "±99:99")
            us = _timestamp_us(_matrix(bytes_, starts[group], width), layout, frac, z)
            if us is None:
                return None
            out[group] = us
    return out


def _timestamp_us(m: np.ndarray, layout: str, frac: int, zulu: bool) -> np.ndarray | None:
    if not _check_layout(m, layout):
        return None
    days = _days_from_civil(_digits(m, 0, 4), _digits(m, 5, 7), _digits(m, 8, 10))
    hour, minute, second = _digits(m, 11, 13), _digits(m, 14, 16), _digits(m, 17, 19)
    if days is None or not ((hour <= 23) & (minute <= 59) & (second <= 59)).all():
        return None
    micro = _digits(m, 20, 19 + frac) * 10 ** (7 - frac) if frac else 0
    us = days * US_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1_000_000 + micro
    if not zulu:
        at = 19 + frac
        oh, om = _digits(m, at + 1, at + 3), _digits(m, at + 4, at + 6)
        if not ((oh <= 23) & (om <= 59)).all():
            return None
        us = us - np.where(m[:, at] == 45, -1, 1) * (oh * 60 + om) * 60_000_000
    if not ((us >= MIN_US) & (us <= MAX_US)).all():
        return None
    return us


_FAST: dict[Kind, Callable[[Field, pa.Array, np.ndarray, np.ndarray], np.ndarray | None]] = {
    Kind.INT: _fast_int, Kind.DECIMAL: _fast_decimal, Kind.FLOAT: _fast_float, Kind.BOOL: _fast_bool,
    Kind.DATE: _fast_date, Kind.TIMESTAMP: _fast_timestamp, Kind.TEXT: _fast_text,
}


# ------------------------------------------------------------ python value → encoding


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _encode_int(f: Field, v: Any) -> int:
    if not _is_int(v):
        raise ValueError(f"{v!r} is not an int")
    return _check_int(int(v))


def _encode_decimal(f: Field, v: Any) -> int:
    if _is_int(v):
        v = Decimal(int(v))
    if not isinstance(v, Decimal) or not v.is_finite():
        raise ValueError(f"{v!r} is not a finite Decimal (floats are not exact)")
    if v.adjusted() > 40:
        raise ValueError(f"{v} does not fit {f.type}")
    return _check_decimal(f, scale_decimal(v, f.type.scale or 0))


def _encode_float(f: Field, v: Any) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (float, int, np.floating, np.integer)):
        raise ValueError(f"{v!r} is not a float")
    v = float(v)
    if v != v:
        raise ValueError("NaN is not allowed: engines disagree about how it compares; use None for NULL")
    return v


def _encode_bool(f: Field, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise ValueError(f"{v!r} is not a bool")
    return bool(v)


def _encode_date(f: Field, v: Any) -> int:
    if not isinstance(v, dt.date) or isinstance(v, dt.datetime):
        raise ValueError(f"{v!r} is not a date")
    return date_code(v)


def _encode_timestamp(f: Field, v: Any) -> int:
    if not isinstance(v, dt.datetime) or v.tzinfo is None or v.utcoffset() is None:
        raise ValueError(f"{v!r} is not a timezone-aware datetime")
    return _check_us(timestamp_code(v), v.isoformat())


def _encode_text(f: Field, v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"{v!r} is not a str")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{v!r} is not valid Unicode text") from None
    return _check_text(f, v)


def _encode_tags(f: Field, v: Any) -> frozenset[str]:
    if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
        raise ValueError(f"{v!r} is not a collection of tags")
    return _check_tags(f, v)


_ENCODERS: dict[Kind, Callable[[Field, Any], Any]] = {
    Kind.INT: _encode_int, Kind.DECIMAL: _encode_decimal, Kind.FLOAT: _encode_float, Kind.BOOL: _encode_bool,
    Kind.DATE: _encode_date, Kind.TIMESTAMP: _encode_timestamp, Kind.TEXT: _encode_text,
    Kind.ENUM: _encode_text, Kind.TAGS: _encode_tags,
}


# ------------------------------------------------------------ encoding → python value


def _decode_column(f: Field, col: Column) -> list[Any]:
    values = col.values.tolist()
    valid = col.valid.tolist()
    match f.kind:
        case Kind.DECIMAL:
            scale = f.type.scale or 0
            conv: Callable[[Any], Any] = lambda v: unscale(v, scale)  # noqa: E731
        case Kind.DATE:
            conv = lambda v: dt.date.fromordinal(v + EPOCH_ORDINAL)  # noqa: E731
        case Kind.TIMESTAMP:
            conv = lambda v: EPOCH + dt.timedelta(microseconds=v)  # noqa: E731
        case _:
            conv = lambda v: v  # noqa: E731  (tolist already gives int, float, bool, str)
    return [conv(v) if ok else None for v, ok in zip(values, valid)]


# ------------------------------------------------------------------------ writing CSV


def write_csv(schema: Schema, records: Iterable[Mapping[str, Any]] | Table, path: str | Path,
              batch: int = 65_536) -> None:
    """Write records (or a table) in the seed convention; ``read_csv`` reads them back
    exactly, NULL and the empty string included. Rows are formatted ``batch`` at a time
    into a temporary file that replaces ``path`` once complete (:func:`open_atomic`), so
    a large table is never held as text, and a failed write leaves ``path`` as it was."""
    from segdsl.data.files import open_atomic

    table = records if isinstance(records, Table) else Table.from_records(schema, records, str(path))
    fields = stored_fields(schema)
    with open_atomic(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(_quote(f.column) for f in fields) + "\n")
        for lo in range(0, table.n_rows, batch):
            cells = [_format_column(f, _slice(table.columns[f.column], lo, lo + batch)) for f in fields]
            out.write("".join([",".join(row) + "\n" for row in zip(*cells)]))


def _slice(col: Column, lo: int, hi: int) -> Column:
    return Column(col.values[lo:hi], col.valid[lo:hi])


def _quote(s: str) -> str:
    # An unquoted empty field is NULL, so the empty string is always written as "".
    if s == "" or any(c in s for c in ',"\r\n') or s != s.strip():
        return '"' + s.replace('"', '""') + '"'
    return s


def _format_column(f: Field, col: Column) -> list[str]:
    values = _decode_column(f, col)
    match f.kind:
        case Kind.DECIMAL:
            fmt: Callable[[Any], str] = lambda v: format(v, "f")  # noqa: E731
        case Kind.FLOAT:
            fmt = repr
        case Kind.BOOL:
            fmt = lambda v: "true" if v else "false"  # noqa: E731
        case Kind.DATE:
            fmt = lambda v: v.isoformat()  # noqa: E731
        case Kind.TIMESTAMP:
            fmt = _format_timestamp
        case Kind.TEXT | Kind.ENUM:
            fmt = _quote
        case Kind.TAGS:
            fmt = lambda v: _quote(json.dumps(sorted(v), ensure_ascii=False))  # noqa: E731
        case _:
            fmt = str
    return ["" if v is None else fmt(v) for v in values]


def _format_timestamp(v: dt.datetime) -> str:
    text = f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    return text + (f".{v.microsecond:06d}" if v.microsecond else "") + "Z"
