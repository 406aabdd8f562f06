"""Editing a static segment's ``members [...]`` list in its ``.seg`` file.

The edit keeps every comment, writes the module back in the canonical layout, and is
checked by parsing the result again: it must hold exactly the intended members. A file
is replaced atomically, and not at all if it changed while it was being edited. The
next refresh of the segment records who entered and who left.
"""

from __future__ import annotations

import csv
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from segdsl.diagnostics import Diagnostic
from segdsl.frozen import Value, frozen
from segdsl.project.errors import UsageError
from segdsl.schema.model import Field, Kind
from segdsl.syntax.span import SourceFile, Span

_BOM = b"\xef\xbb\xbf"
#: Unicode categories a text key may not hold besides the controls (C*): the line and
#: paragraph separators, which editors show as line breaks.
_NOT_IN_KEYS = {"Zl", "Zp"}


@frozen
class MemberEdit(Value):
    """The outcome of an edit: the new text, the keys added and removed, those asked
    to be added that already were members or removed that were not, and the size."""

    text: str
    added: tuple[Any, ...]
    removed: tuple[Any, ...]
    already: tuple[Any, ...]
    missing: tuple[Any, ...]
    size: int


class MemberEditError(Exception):
    """The edit cannot be made: the file cannot be read, decoded, parsed or written, or
    the edit would not give the intended list. Nothing was written. ``diagnostics``
    (with ``sources`` to render them) say why when the source itself is at fault."""

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = (), sources=None):
        super().__init__(message)
        self.message = message
        self.diagnostics = tuple(diagnostics)
        self.sources: dict[str, SourceFile] = dict(sources or {})


def parse_key(text: str, key: Field) -> int | str:
    """A member key typed by a user, as the schema's key type; ValueError if not one."""
    from segdsl.ir.semantics import INT64_MAX, INT64_MIN

    if key.kind is Kind.INT:
        if not re.fullmatch(r"-?[0-9]+", text.strip()):
            raise ValueError(f"{_quoted(text)} is not an integer key (`{key.name}`)")
        value = int(text.strip())
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"{_quoted(text)} is out of the 64-bit range")
        return value
    if not text or any(unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in _NOT_IN_KEYS for ch in text):
        raise ValueError(f"{text!r} is not a usable key: empty, or with a control character or a line break")
    return text


def _quoted(text: str) -> str:
    """``text`` in backticks, or as a Python literal when it holds a line break or
    another character that would not show."""
    return f"`{text}`" if text.isprintable() else repr(text)


def key_field(path: str | Path) -> Field:
    """The key field of the schema of the project ``path`` is in."""
    from segdsl.project.workspace import find_project
    from segdsl.check.traits import load_schema

    project, diags = find_project(Path(path))
    if project is None:
        if diags:
            raise MemberEditError(diags[0].message)
        raise UsageError(f"{path} is in no project (no segdsl.toml beside it or above)", "file")
    schema, diags = load_schema(project.schema_path)
    if schema is None:
        raise MemberEditError(diags[0].message if diags else f"cannot read the schema {project.schema_path}")
    return schema.key


def read_csv_keys(path: Path, key: Field, column: str | None = None) -> list:
    """The keys in a CSV file with a header row: from ``column``, else the key's column,
    else ``key``, else the only column. The file is read as CSV (a quoted cell may hold
    a comma or a line break; that cell is one value, and not a valid key). A missing
    column is a UsageError (``column``); a cell that is not a key, a cell longer than
    the csv module reads, or a file that is not CSV is a MemberEditError saying where
    (``path:line``, the line where the row starts)."""
    keys = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            start = 1  # the line the next row starts on
            header = None
            for row in _rows(reader, path, lambda: start):
                line, start = start, reader.line_num + 1
                if header is None:
                    header = [h.strip() for h in row]
                    index = _key_column(path, header, key, column)
                    continue
                if not row or not any(cell.strip() for cell in row):
                    continue
                cell = row[index] if index < len(row) else ""
                try:
                    keys.append(parse_key(cell if key.kind is Kind.TEXT else cell.strip(), key))
                except ValueError as exc:
                    raise MemberEditError(f"{path}:{line}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MemberEditError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if header is None:
        raise MemberEditError(f"{path} is empty; it needs a header row and one key per row")
    return keys


def _rows(reader, path: Path, line):
    """The rows of ``reader``; a CSV error (a cell over the csv module's size limit, a
    NUL) as a MemberEditError at the line of the row it is in (``line()``)."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            text = str(exc)
            if "field larger than field limit" in text:
                text = (f"a cell is longer than {csv.field_size_limit():,} characters, "
                        "which no key is (is this the right file?)")
            raise MemberEditError(f"{path}:{line()}: not a CSV file segdsl can read: {text}") from None
        yield row


def _key_column(path: Path, header: list[str], key: Field, column: str | None) -> int:
    if column is None:
        column = next((c for c in (key.column, key.name, "key") if c in header), None)
        if column is None and len(header) == 1:
            column = header[0]
    if column not in header:
        raise UsageError(f"{path} has no column `{column}`; its columns are: {', '.join(header)}", "column")
    return header.index(column)


def edit_member_file(
    path: str | Path, segment: str, *, add: Sequence = (), remove: Sequence = (), replace: Sequence | None = None,
    typed: bool = False,
) -> MemberEdit:
    """Edit static ``segment``'s member list in the file at ``path`` and write the file
    back (atomically, keeping a byte-order mark). Keys are text typed by a user, parsed
    as the schema's key type, unless ``typed`` (then they are keys already).

    Raises :class:`UsageError` for a key that is not one (``keys``), a segment that is
    not in the file or not static (``segment``); :class:`MemberEditError` when the file
    cannot be read, parsed or written, or changed while it was being edited."""
    from segdsl.data.files import locked

    key = key_field(path)
    if not typed:
        try:
            add = [parse_key(k, key) for k in add]
            remove = [parse_key(k, key) for k in remove]
        except ValueError as exc:
            raise UsageError(str(exc), "keys") from None
    shown = os.fspath(path)  # as the caller wrote it, in messages
    path = Path(path)
    if not path.is_file():
        raise MemberEditError(f"cannot read {shown}: " + ("it is a directory" if path.is_dir() else "no such file"))
    try:
        # Read, edit and write under the file's lock: another `segdsl members` waits
        # for this one and then starts from its result, so no edit is lost.
        with locked(path):
            edit = _edit_locked(path, shown, segment, add, remove, replace)
    except OSError as exc:
        raise MemberEditError(f"cannot write {shown}: {exc.strerror or exc}") from None
    return edit


def _edit_locked(path: Path, shown: str, segment: str, add, remove, replace) -> MemberEdit:
    from segdsl.data.files import write_atomic
    from segdsl.syntax.source import MAX_SOURCE_BYTES, decode_source

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MemberEditError(f"cannot read {shown}: {exc.strerror or exc}") from None
    src, diags = decode_source(shown, data)
    if src is None:
        raise MemberEditError(f"cannot read {shown}", diags)
    bom = _BOM if data.startswith(_BOM) else b""
    edit = edit_members(src.text, shown, segment, add=add, remove=remove, replace=replace,
                        limit=MAX_SOURCE_BYTES - len(bom))
    if edit.text != src.text:
        # Another program (an editor) does not take the lock: do not write over its change.
        if path.read_bytes() != data:
            raise MemberEditError(f"{shown} changed while it was being edited; nothing was written, try again")
        write_atomic(path, bom + edit.text.encode("utf-8"))
    return edit


def edit_members(
    text: str, path: str, segment: str, *, add: Sequence = (), remove: Sequence = (), replace: Sequence | None = None,
    limit: int | None = None,
) -> MemberEdit:
    """``text`` with static ``segment``'s member list edited and the module in the
    canonical layout. Comments inside the list are kept (a removed member's comment
    stays with its neighbour; added members go at the end); the result is parsed again
    and checked to be the edited module, comments included. With ``replace``, the list
    becomes exactly those keys. ``limit``: the largest result in bytes (see
    :func:`~segdsl.syntax.formatter.format_source`)."""
    import attrs

    from segdsl.check.suggest import did_you_mean
    from segdsl.syntax import ast
    from segdsl.syntax.formatter import format_module, format_source
    from segdsl.syntax.parser import parse_source
    from segdsl.syntax.printer import string_text

    parsed = parse_source(path, text)
    if parsed.module is None:
        raise MemberEditError("the file does not parse", parsed.diagnostics, {path: SourceFile(path, text)})
    module = parsed.module
    seg = next((s for s in module.segments if s.name == segment), None)
    if seg is None:
        names = [s.name for s in module.segments]
        hint = did_you_mean(segment, names) or f"its segments are: {', '.join(names) or '(none)'}"
        raise UsageError(f"no segment `{segment}` in {path}; {hint}", "segment")
    if seg.kind != "static":
        raise UsageError(f"`{segment}` is a {seg.kind} segment; only a static segment has a member list "
                         f"(its members come from its rule)", "segment")
    clause = seg.clause(ast.Members)
    items = list(clause.items.items) if clause is not None else []
    old = [i.value for i in items]
    old_set = set(old)
    if replace is not None:
        wanted = list(dict.fromkeys(replace))
        wanted_set = set(wanted)
        remove = [v for v in old if v not in wanted_set]
        add = wanted
    remove_set = set(remove)
    kept = [v for v in old if v not in remove_set]
    kept_set = old_set - remove_set
    adding = list(dict.fromkeys(add))
    added = tuple(v for v in adding if v not in kept_set)
    already = tuple(v for v in adding if v in kept_set) if replace is None else ()
    removed = tuple(v for v in dict.fromkeys(remove) if v in old_set)
    missing = tuple(v for v in dict.fromkeys(remove) if v not in old_set)
    if not added and not removed:
        return MemberEdit(text, (), (), already, missing, len(kept))
    size = len(kept) + len(added)

    if clause is None:
        # A new clause just before the closing brace, laid out with the rest.
        body = "[" + ", ".join(str(v) if isinstance(v, int) else string_text(v) for v in added) + "]"
        insert = seg.span.end - 1
        new_text = text[:insert] + "\n    members " + body + "\n" + text[insert:]
        formatted, diags = format_source(new_text, path, limit)
        expected = None
    else:
        # Edit the parsed module and lay it out: no second parse of the edited text. A
        # new member's span is the empty one at the `]`, so the comments before it
        # stay before it.
        end = clause.items.span.end - 1
        at = Span(path, end, end)
        new_items = [i for i in items if i.value not in remove_set] + [
            ast.IntLit(v, str(v), at) if isinstance(v, int) else ast.StringLit(v, at) for v in added
        ]
        new_clause = attrs.evolve(clause, items=attrs.evolve(clause.items, items=tuple(new_items)))
        new_seg = attrs.evolve(seg, clauses=tuple(new_clause if c is clause else c for c in seg.clauses))
        expected = attrs.evolve(module, segments=tuple(new_seg if s is seg else s for s in module.segments))
        formatted, diags = format_module(text, expected, path, limit)
    if formatted is None or diags:
        raise MemberEditError("the edited file could not be laid out; nothing was written", diags,
                              {path: SourceFile(path, text)})
    if expected is None:  # format_source checked the layout; check the edit
        again = parse_source(path, formatted)
        check = next((s for s in again.module.segments if s.name == segment), None) if again.module else None
        got = [i.value for i in check.clause(ast.Members).items.items] if check is not None else None
        if got != list(added) or len(again.module.comments) != len(module.comments):
            raise MemberEditError("internal error: the edit would not give the intended member list; "
                                  "nothing was written")
    return MemberEdit(formatted, added, removed, already, missing, size)
