"""The profile schema: the entity a rule is evaluated over, and its typed fields.

A schema is a TOML file (format in ``docs/schema.md``). Reading it never raises on bad
content: problems come back as diagnostics naming the file and the offending key.

Reading a schema only reads it: a trait (``derive = '...'``) is a rule of the language,
typed by the check stage (:func:`segdsl.check.traits.load_schema` reads a schema and
types its traits; everything that evaluates rules uses that).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from segdsl.diagnostics import Diagnostic, error
from segdsl.frozen import Value, frozen
from segdsl.syntax.keywords import KEYWORDS, NAME
from segdsl.syntax.span import Span


class Kind(enum.Enum):
    INT = "int"
    DECIMAL = "decimal"
    FLOAT = "float"
    TEXT = "text"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"
    ENUM = "enum"
    TAGS = "tags"


#: Ordering comparisons (< <= > >=) mean the same thing on every engine only for these.
ORDERED = {Kind.INT, Kind.DECIMAL, Kind.FLOAT, Kind.DATE, Kind.TIMESTAMP}
NUMERIC = {Kind.INT, Kind.DECIMAL, Kind.FLOAT}

#: Largest precision a decimal field may declare: every supported engine stores it
#: exactly and orders it exactly (a double holds 15 significant decimal digits).
MAX_DECIMAL_PRECISION = 15


@frozen
class FieldType(Value):
    kind: Kind
    precision: int | None = None  # decimal only
    scale: int | None = None  # decimal only
    values: tuple[str, ...] = ()  # enum only

    def __str__(self) -> str:
        if self.kind is Kind.DECIMAL:
            return f"decimal({self.precision}, {self.scale})"
        if self.kind is Kind.ENUM:
            return "enum"
        return self.kind.value


@frozen
class Field(Value):
    name: str
    type: FieldType
    nullable: bool
    column: str
    doc: str = ""
    #: For fields produced by a model (smart segments): the model's name.
    model: str | None = None
    #: For derived day counts: the date/timestamp field this is ``days_since`` of.
    #: Such a field has no column; it is computed from the as-of instant.
    days_since: str | None = None
    #: For traits: the aggregate text from the schema (``derive = '...'``) and, once the
    #: check stage has typed it (:mod:`segdsl.check.traits`), the typed aggregate (a
    #: :class:`segdsl.ir.Aggregate`); until then the field's type is a placeholder.
    derive_text: str | None = attrs.field(default=None, eq=False)
    derive: Any = None

    @property
    def stored(self) -> bool:
        """Whether the field is a column of the entity table (not computed)."""
        return self.days_since is None and self.derive is None and self.derive_text is None

    @property
    def kind(self) -> Kind:
        return self.type.kind


@frozen
class Channel(Value):
    """A messaging channel: the field holding the contact's address on it (none for
    push) and the boolean field holding the contact's consent to it."""

    name: str
    consent: str
    address: str | None = None


@frozen
class Schema(Value):
    entity: str
    table: str
    key: Field
    fields: Mapping[str, Field]
    doc: str = ""
    path: str = ""
    #: Raw tables the profile is derived from, by name; each is a Schema of its own.
    sources: Mapping[str, Schema] = attrs.field(factory=dict)
    #: For a source table: its column that holds the entity's key.
    entity_key: str | None = None
    #: Messaging channels, by name (``email``, ``sms``, ``push``).
    channels: Mapping[str, Channel] = attrs.field(factory=dict)
    #: For a source whose rows are events: its timestamp column holding when each
    #: happened (``time = "..."``), which event sequences read.
    time: str | None = None

    def field(self, name: str) -> Field | None:
        return self.fields.get(name)

    def stored_fields(self) -> list[Field]:
        """Fields backed by a column (derived ``days_since`` fields have none), one per
        column, the key first."""
        out: dict[str, Field] = {self.key.column: self.key}
        for f in self.fields.values():
            if f.stored:
                out.setdefault(f.column, f)
        return list(out.values())


def split_table_name(name: str) -> tuple[str | None, str] | None:
    """A schema's ``table``, ``name`` or ``schema_name.name``, as (schema name or None,
    table name); None for any other text (two dots, an empty part). How an engine
    without schemas reads the pair is its SQL target's (see ``Target.schemas``)."""
    schema, dot, table = name.partition(".")
    if not dot:
        return (None, name) if name else None
    if not schema or not table or "." in table:
        return None
    return schema, table


_TYPE_RE = re.compile(r"^\s*(\w+)\s*(?:\(\s*(\d+)\s*,\s*(\d+)\s*\))?\s*$")

#: The keys a schema, a field and a source's `id` etc. may have.
_TOP_KEYS = frozenset({"entity", "table", "key", "doc", "fields", "sources", "channels"})
_FIELD_KEYS = frozenset({"type", "nullable", "column", "doc", "values", "model"})
_SOURCE_KEYS = {"key": "id", "entity": "table", "table": "table"}
#: Type names from SQL and other languages → segdsl's.
_TYPE_ALIASES = {"integer": "int", "bigint": "int", "smallint": "int", "long": "int", "string": "text",
                 "varchar": "text", "str": "text", "boolean": "bool", "datetime": "timestamp",
                 "timestamptz": "timestamp", "numeric": "decimal", "double": "float", "real": "float",
                 "number": "decimal", "list": "tags", "array": "tags"}


@attrs.frozen
class _Problem:
    """A field's problem: the key it is about (None: the field itself), what is wrong, a fix."""

    key: str | None
    message: str
    help: str | None = None


def _problem(p: str | _Problem) -> tuple[str | None, str, str | None]:
    if isinstance(p, _Problem):
        return p.key, p.message, p.help
    return None, p, None


def _closest(word: str, candidates) -> str | None:
    """The candidate closest to ``word`` (difflib here: reading a schema reaches no part
    of the check stage, where the language's suggestions live)."""
    import difflib

    best = difflib.get_close_matches(word, sorted(map(str, candidates)), n=1, cutoff=0.6)
    return best[0] if best else None


def _close(word: str, candidates) -> str | None:
    best = _closest(word, candidates)
    return f"did you mean `{best}`?" if best else None
def read_schema(path: str | Path) -> tuple[Schema | None, list[Diagnostic]]:
    """Read a schema file; its traits are left untyped (see the module's docstring)."""
    import tomllib  # only where a schema file is read

    from segdsl.schema.locate import decode_error_span, locator

    path = Path(path)
    where = Span(str(path), 0, 0)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        return None, [error("E0301", f"schema file `{path}` does not exist", where)]
    except UnicodeDecodeError:
        return None, [error("E0301", f"schema file `{path}` is not UTF-8", where)]
    except tomllib.TOMLDecodeError as exc:
        return None, [error("E0301", f"schema file is not valid TOML: {exc}", decode_error_span(str(path), text, str(exc)))]
    return read_schema_dict(data, str(path), locator(str(path), text))


def read_schema_dict(data: Mapping, path: str = "<schema>", locate=None) -> tuple[Schema | None, list[Diagnostic]]:
    """Build and validate a schema from a TOML document's data; its traits are left
    untyped (see the module's docstring). ``locate`` maps a key path to where it is
    written (:func:`segdsl.schema.locate.locator`); without it problems point at the file."""
    locate = locate or (lambda keys: Span(path, 0, 0))
    schema, diags = _schema(data, path, locate=locate)
    if schema is None:
        return None, diags
    channels, problems = _channels(data.get("channels"), schema)
    if problems:
        return None, diags + problems
    schema = attrs.evolve(schema, channels=channels)
    problems = channel_problems(schema)
    if problems:
        return None, diags + problems
    return schema, diags


def _channels(spec, schema: Schema) -> tuple[dict[str, Channel], list[Diagnostic]]:
    """``[channels.NAME]`` with ``consent`` (a field) and ``address`` (a field): their
    shape; :func:`channel_problems` checks the fields they name."""
    where = Span(schema.path, 0, 0)
    out: dict[str, Channel] = {}
    if spec is None:
        return out, []
    if not isinstance(spec, Mapping):
        return out, [error("E0302", "`channels` must be a table of `[channels.NAME]` tables", where)]
    for name, ch in spec.items():
        if not isinstance(ch, Mapping) or set(ch) - {"consent", "address"} or "consent" not in ch:
            return out, [error("E0302", f"channel `{name}` needs `consent` (and optionally `address`)", where)]
        out[name] = Channel(name, ch["consent"], ch.get("address"))
    return out, []


def channel_problems(schema: Schema) -> list[Diagnostic]:
    """The first channel whose ``consent`` is not a boolean field, or whose ``address``
    is not a text field. A trait not yet typed passes: its type is known only once the
    check stage has typed it, which then asks again."""
    where = Span(schema.path, 0, 0)

    def wrong(name, kind: Kind) -> bool:
        f = schema.fields.get(name) if isinstance(name, str) else None
        return f is None or (f.kind is not kind and not (f.derive_text and f.derive is None))

    for ch in schema.channels.values():
        if wrong(ch.consent, Kind.BOOL):
            return [error("E0302", f"channel `{ch.name}`: `consent` must name a boolean field", where)]
        if ch.address is not None and wrong(ch.address, Kind.TEXT):
            return [error("E0302", f"channel `{ch.name}`: `address` must name a text field", where)]
    return []


#: What a table name may hold besides :func:`split_table_name`'s rule: no path separator
#: or NUL, so that `<table>.csv` is a file in the data folder and nowhere else.
_TABLE_NAME = re.compile(r"[^/\\\x00]+")


def _schema(data: Mapping, path: str, source: str | None = None, locate=None) -> tuple[Schema | None, list[Diagnostic]]:
    locate = locate or (lambda keys: Span(path, 0, 0))
    # Where this schema's keys are: the top of the document, or a source's table.
    base: tuple[str, ...] = () if source is None else ("sources", source)
    diags: list[Diagnostic] = []

    def bad(message: str, help: str | None = None, at: tuple[str, ...] = ()) -> None:
        diags.append(error("E0302", message, locate(base + at), help=help))

    entity = data.get("entity")
    table = data.get("table")
    key_name = data.get("key")
    raw_fields = data.get("fields")
    for name, value in (("entity", entity), ("table", table), ("key", key_name)):
        if not isinstance(value, str) or not value:
            what = f"source `{source}`" if source else "schema"
            bad(f"{what} needs a string `{name}`", help=f'add `{name} = "..."`',
                at=(_SOURCE_KEYS.get(name, name),) if source else (name,))
    if isinstance(table, str) and table and split_table_name(table) is None:
        what = f"source `{source}`: " if source else ""
        bad(f"{what}`table = \"{table}\"` is neither `name` nor `schema_name.name`",
            help="a table name has at most one dot, with a name on each side of it", at=("table",))
    elif isinstance(table, str) and table and not _TABLE_NAME.fullmatch(table):
        # The table's data file is `<table>.csv` in the data folder: never a path out of it.
        what = f"source `{source}`: " if source else ""
        bad(f"{what}`table = \"{table}\"` is not a table name: its data file `<table>.csv` must be in the "
            "data folder", help="write `name` or `schema_name.name`, without `/` or `\\`", at=("table",))
    if not isinstance(raw_fields, Mapping) or not raw_fields:
        bad("schema needs a `[fields.NAME]` table for each field", at=("columns",) if source else ("fields",))
        return None, diags
    unknown = set(data) - _TOP_KEYS if source is None else set()
    for name in sorted(unknown):
        bad(f"unknown key `{name}` in the schema", help=_close(name, _TOP_KEYS), at=(name,))
    fields: dict[str, Field] = {}
    within = ("columns",) if source else ("fields",)
    for name, spec in raw_fields.items():
        field, problems = _field(name, spec)
        for key, p, help_ in map(_problem, problems):
            bad(f"field `{name}`: {p}", help=help_, at=within + (name,) + ((key,) if key else ()))
        if field is not None:
            fields[name] = field
    # Every problem at once: the key and the sources are checked even when a field is wrong.
    key = fields.get(key_name)
    if key is None and key_name not in raw_fields:
        bad(f"the key `{key_name}` is not one of the fields",
            help=_close(str(key_name), raw_fields) or "declare it under [fields]",
            at=(_SOURCE_KEYS["key"] if source else "key",))
    elif key is not None and (key.kind not in (Kind.INT, Kind.TEXT) or key.nullable or not key.stored):
        bad(f"the key `{key_name}` must be a non-nullable int or text field", at=within + (str(key_name),))
    sources: dict[str, Schema] = {}
    for name, spec in (data.get("sources") or {}).items() if source is None else ():
        src, problems = _source(name, spec, key, path, locate)
        diags.extend(problems)
        if src is not None:
            sources[name] = src
    if diags or key is None:
        return None, diags
    for f in fields.values():
        if f.days_since is None:
            continue
        if f.days_since in fields and fields[f.days_since].derive_text:
            continue  # a derived source: typed later, by segdsl.check.traits
        target = fields.get(f.days_since)
        if target is None or target.kind not in (Kind.DATE, Kind.TIMESTAMP) or target.days_since:
            bad(f"field `{f.name}`: `days_since` must name a date or timestamp field")
            return None, diags
        fields[f.name] = attrs.evolve(f, nullable=target.nullable)
    return Schema(str(entity), str(table), key, fields, str(data.get("doc", "")), path, sources), []


def _source(name: str, spec, entity_key: Field | None, path: str, locate) -> tuple[Schema | None, list[Diagnostic]]:
    """A raw table: ``table``, ``id`` (its key), ``entity_key`` (the column holding the
    entity's key) and ``columns``, each declared like a field."""
    where = locate(("sources", name))
    if not NAME.fullmatch(name) or name in KEYWORDS:
        return None, [error("E0302", f"`{name}` cannot name a source (use letters, digits and `_`, not a keyword)", where)]
    if not isinstance(spec, Mapping):
        return None, [error("E0302", f"source `{name}` must be a table with `table`, `id`, `entity_key`, `columns`", where)]
    keys = {"table", "id", "entity_key", "columns", "doc", "time"}
    unknown = [error("E0302", f"source `{name}`: unknown key `{k}`", locate(("sources", name, k)), help=_close(k, keys))
               for k in sorted(set(spec) - keys)]
    data = {"entity": name, "table": spec.get("table"), "key": spec.get("id"), "fields": spec.get("columns"),
            "doc": spec.get("doc", "")}
    src, diags = _schema(data, path, source=name, locate=locate)
    if src is None or unknown or entity_key is None:
        return None, unknown + [attrs.evolve(d, message=f"source `{name}`: {d.message}")
                                if "source" not in d.message else d for d in diags]
    ek = spec.get("entity_key")
    col = src.fields.get(ek) if isinstance(ek, str) else None
    if col is None or col.kind is not entity_key.kind or col.nullable:
        return None, [error("E0302", f"source `{name}`: `entity_key` must name a non-nullable {entity_key.kind.value} "
                             f"column holding the `{entity_key.name}` of each row", locate(("sources", name, "entity_key")),
                             help=_close(str(ek), src.fields) if col is None else None)]
    if any(not f.stored for f in src.fields.values()):
        return None, [error("E0302", f"source `{name}`: columns cannot be derived", where)]
    time = spec.get("time")
    if time is not None:
        at = src.fields.get(time) if isinstance(time, str) else None
        if at is None or at.kind is not Kind.TIMESTAMP:
            what = "is not one of its columns" if at is None else f"is a {at.type} column"
            return None, [error("E0302", f"source `{name}`: `time = {time!r}` {what}; it must name the timestamp "
                                 "column holding when each row happened", locate(("sources", name, "time")),
                                 help="declare the column with `type = \"timestamp\"` under the source's columns, "
                                 "or leave `time` out if the rows are not events")]
        time = at.column
    return attrs.evolve(src, entity_key=col.column, time=time), []


def _field(name: str, spec) -> tuple[Field | None, list[str | _Problem]]:
    problems: list[str | _Problem] = []
    if not NAME.fullmatch(name):
        return None, ["a field name is letters, digits and `_`, not starting with a digit"]
    if name in KEYWORDS:
        return None, [f"`{name}` is a keyword of the language and cannot be a field name"]
    if not isinstance(spec, Mapping):
        return None, ["expected a table with at least `type`"]
    if "derive" in spec:
        text = spec["derive"]
        extra = set(spec) - {"derive", "doc", "model"}
        if not isinstance(text, str) or extra:
            return None, ["a derived field has `derive = \"<aggregate>\"`, and optionally `doc` and `model`"]
        model = spec.get("model")
        if model is not None and not isinstance(model, str):
            return None, ["`model` names the model that computes a score"]
        # Typed by the checker once every field is known (see segdsl.check.traits).
        return Field(name, FieldType(Kind.INT), True, name, str(spec.get("doc", "")), model, derive_text=text), []
    if "days_since" in spec:
        target = spec["days_since"]
        extra = set(spec) - {"days_since", "doc"}
        if not isinstance(target, str) or extra:
            return None, ["a derived field has only `days_since = \"<date field>\"` and `doc`"]
        return Field(name, FieldType(Kind.INT), True, "", str(spec.get("doc", "")), None, target), []
    unknown = set(spec) - _FIELD_KEYS
    for key in sorted(unknown):
        problems.append(_Problem(key, f"unknown key `{key}`", _close(key, _FIELD_KEYS)))
    m = _TYPE_RE.match(str(spec.get("type", "")))
    if not m:
        return None, problems + [_Problem("type", f"`type` must be one of {', '.join(k.value for k in Kind)}")]
    type_name, p, s = m.groups()
    try:
        kind = Kind(type_name)
    except ValueError:
        hint = _TYPE_ALIASES.get(type_name.lower()) or _closest(type_name, [k.value for k in Kind])
        return None, problems + [_Problem("type", f"unknown type `{type_name}`; use one of {', '.join(k.value for k in Kind)}",
                                          f"did you mean `{hint}`?" if hint else None)]
    precision = scale = None
    values: tuple[str, ...] = ()
    if kind is Kind.DECIMAL:
        if p is None:
            return None, problems + [_Problem("type", "a decimal needs precision and scale, e.g. `decimal(12, 2)`")]
        precision, scale = int(p), int(s)
        if not 0 < precision <= MAX_DECIMAL_PRECISION or not 0 <= scale <= precision:
            problems.append(_Problem("type", f"decimal precision must be 1..{MAX_DECIMAL_PRECISION} and scale 0..precision"))
    elif p is not None:
        problems.append(_Problem("type", f"`{type_name}` takes no precision"))
    if kind is Kind.ENUM:
        raw = spec.get("values")
        if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
            problems.append(_Problem("values", "an enum needs `values`, a non-empty list of strings"))
        elif len(set(raw)) != len(raw):
            problems.append(_Problem("values", "enum values must be distinct"))
        else:
            values = tuple(raw)
    elif "values" in spec:
        problems.append(_Problem("values", "only enum fields take `values`"))
    nullable = spec.get("nullable", True)
    if not isinstance(nullable, bool):
        problems.append(_Problem("nullable", "`nullable` must be true or false"))
    column = spec.get("column", name)
    if not isinstance(column, str) or not column:
        problems.append(_Problem("column", "`column` must be a non-empty string"))
    doc = spec.get("doc", "")
    model = spec.get("model")
    if model is not None and (not isinstance(model, str) or kind not in NUMERIC):
        problems.append(_Problem("model", "`model` names the model that computes a numeric score"))
    if problems:
        return None, problems
    return Field(name, FieldType(kind, precision, scale, values), bool(nullable), str(column), str(doc), model), []
