"""The import reader's groundwork: reporting errors at JSON ranges, and reading JSON
values as literals of a field's schema type (converted, never guessed)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from decimal import Decimal

from segdsl.syntax import ast
from segdsl.diagnostics import Diagnostic, error
from segdsl.interchange.formats import JS_SPACE
from segdsl.interchange.jsonread import JNode
from segdsl.interchange.names import quoted
from segdsl.schema.model import NUMERIC, Field, Kind, Schema
from segdsl.syntax.keywords import NAME, terminal
from segdsl.syntax.source import check_text
from segdsl.syntax.span import Span
from segdsl.check.suggest import did_you_mean, one_of

#: Import stops after this many errors: one bad value in a 100,000-item list is enough.
MAX_ERRORS = 100

_LOOSE_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")


class TooManyErrors(Exception):
    pass


class ValueReader:
    """State and value reading shared by the import reader (:class:`ImportReader`): the
    diagnostics, and which JSON node each AST node came from."""

    def __init__(self, fmt: str, schema: Schema, path: str):
        self.fmt = fmt
        self.schema = schema
        self.path = path
        self.loose = fmt == "rqb"
        self.diags: list[Diagnostic] = []
        self.failed = False
        self.origin: dict[int, tuple[JNode, str]] = {}
        self.name_origin: dict[int, tuple[JNode, str]] = {}
        self.depth: dict[int, int] = {}
        self._keep: list = []  # keeps marked nodes alive, so their ids stay unique
        self.nowhere = Span("<import>", 0, 0)

    # ------------------------------------------------------------------ plumbing

    def err(self, code: str, message: str, j: JNode | tuple[int, int] | None, jpath: str, *,
            help: str | None = None, label: str = "") -> None:
        start, end = (j.start, j.end) if isinstance(j, JNode) else (j or (0, 0))
        where = where_in_json(jpath)
        self.diags.append(error(code, message, Span(self.path, start, end), label=label, help=help, notes=(where,)))
        self.failed = True
        if sum(d.is_error for d in self.diags) >= MAX_ERRORS:
            raise TooManyErrors

    def mark(self, node, j: JNode, jpath: str):
        self.origin[id(node)] = (j, jpath)
        self._keep.append(node)
        return node

    def keys(self, j: JNode, jpath: str, allowed: Sequence[str], what: str) -> None:
        for key, where in j.keys.items():
            if key not in allowed:
                self.err("E0505", f"unknown key {quoted(key)} in {what}", where, jpath, label="not expected here",
                         help=did_you_mean(key, allowed) or f"the keys are {one_of(allowed)}")

    def expect(self, j: JNode, kind: str, jpath: str, what: str) -> bool:
        if j.kind == kind:
            return True
        self.err("E0504", f"expected {what}, found {describe_json(j)}", j, jpath, label=f"not {_article(kind)}")
        return False

    def string(self, j: JNode, jpath: str, what: str) -> str | None:
        if not self.expect(j, "string", jpath, what):
            return None
        return j.value if self.clean(j.value, j, jpath) else None

    def clean(self, value: str, j: JNode, jpath: str) -> bool:
        """Whether a `.seg` string can hold ``value`` exactly (see docs/language.md)."""
        if value.isprintable():
            return True
        if "\r" in value:
            self.err("E0510", "a carriage return cannot be written in a .seg string", j, jpath,
                     help="remove it; line breaks are written \\n")
            return False
        _, problems = check_text("<string>", value)
        if problems:
            self.err("E0510", f"the string holds a character a .seg file cannot: {problems[0].message}", j, jpath,
                     help="remove it from the value")
            return False
        return True

    # ------------------------------------------------------------------ values

    def scalar(self, j: JNode, jpath: str, f: Field | None):
        """One value as a literal of field ``f``'s type (``None``: a number of days)."""
        kind = Kind.INT if f is None or f.days_since else f.kind
        what = "a whole number of days" if f is None else f"`{f.name}`"
        sp = self.nowhere
        if j.kind == "null":
            op = '"isNull"' if self.fmt == "segdsl" else '"null"'
            return self.err("E0509", f"null is not a value of {what}", j, jpath, label="null",
                            help=f"to find rows where it is missing, use the operator {op}")
        if kind in NUMERIC:
            text = None
            if j.kind == "number":
                text = j.value
            elif self.loose and j.kind == "string" and _LOOSE_NUMBER.match(j.value.strip(JS_SPACE)):
                text = j.value.strip(JS_SPACE)
            if text is None:
                return self.err("E0509", f"{what} holds numbers; {describe_json(j, True)} is not one", j, jpath,
                                label="not a number",
                                help="write the number without quotes" if j.kind == "string" else None)
            d = Decimal(text)
            exp = d.as_tuple().exponent
            if len(d.as_tuple().digits) > 40 or not -40 <= exp <= 40:
                return self.err("E0509", f"{text[:40]} is out of range for {what}", j, jpath, label="out of range")
            if kind is Kind.INT:
                if d != d.to_integral_value():
                    return self.err("E0509", f"{what} holds whole numbers; {text} is not one", j, jpath,
                                    label="not a whole number")
                return self.mark(ast.IntLit(int(d), str(int(d)), sp), j, jpath)
            shown = format(d, "f")
            if "." in shown:
                return self.mark(ast.DecimalLit(d, shown, sp), j, jpath)
            return self.mark(ast.IntLit(int(shown), shown, sp), j, jpath)
        if kind is Kind.BOOL:
            if j.kind == "bool":
                return self.mark(ast.BoolLit(j.value, sp), j, jpath)
            if self.loose and j.kind == "string" and j.value.strip(JS_SPACE).lower() in ("true", "false"):
                return self.mark(ast.BoolLit(j.value.strip(JS_SPACE).lower() == "true", sp), j, jpath)
            return self.err("E0509", f"{what} is a boolean; {describe_json(j, True)} is not true or false", j, jpath,
                            label="not a boolean")
        if j.kind != "string":
            return self.err("E0509", f"{what} holds {_plural(kind)}; {describe_json(j, True)} is not one", j, jpath,
                            label="expected a string", help="write the value in quotes")
        text = j.value
        if kind in (Kind.TEXT, Kind.ENUM, Kind.TAGS):
            return self.mark(ast.StringLit(text, sp), j, jpath) if self.clean(text, j, jpath) else None
        if terminal("DATE").fullmatch(text):  # text passed through must lex as a date
            try:
                return self.mark(ast.DateLit(dt.date.fromisoformat(text), sp), j, jpath)
            except ValueError:
                return self.err("E0509", f"{quoted(text)} is not a valid date", j, jpath, label="no such day")
        if kind is Kind.TIMESTAMP and terminal("TIMESTAMP").fullmatch(text):
            try:
                value = dt.datetime.fromisoformat(text)
            except ValueError:
                return self.err("E0509", f"{quoted(text)} is not a valid timestamp", j, jpath, label="no such time")
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            return self.mark(ast.TimestampLit(value.astimezone(dt.UTC), text, sp), j, jpath)
        form = "YYYY-MM-DD" if kind is Kind.DATE else "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM]"
        return self.err("E0509", f"{what} is {_article(kind.value)}; {quoted(text)} is not written as one", j, jpath,
                        label=f"not {_article(kind.value)}", help=f"write it as {form}")

    def values(self, j: JNode, jpath: str) -> list[tuple[JNode, str]] | None:
        """The items of a list value. react-querybuilder also accepts a comma-separated
        string (``"Gold, Platinum"``; ``\\,`` is a literal comma) or one number, and
        trims the items, as its own formatQuery does."""
        if j.kind == "array":
            items = [(item, f"{jpath}[{i}]") for i, item in enumerate(j.value)]
            if self.loose:
                items = [(JNode("string", item.value.strip(JS_SPACE), item.start, item.end)
                          if item.kind == "string" else item, p) for item, p in items]
            return items
        if self.loose and j.kind == "string":
            parts = re.split(r"(?<!\\),", j.value)
            parts = [p.replace("\\,", ",").strip(JS_SPACE) for p in parts]
            return [(JNode("string", p, j.start, j.end), jpath) for p in parts if p]
        if self.loose and j.kind == "number":
            return [(j, jpath)]
        self.err("E0504", f"expected a list of values, found {describe_json(j)}", j, jpath, label="not a list",
                 help='write a JSON array, e.g. ["Gold", "Platinum"]')
        return None

    def list_value(self, j: JNode, jpath: str, f: Field | None) -> ast.ListLit | None:
        items = self.values(j, jpath)
        if items is None:
            return None
        lits = [self.scalar(item, p, f) for item, p in items]
        if any(lit is None for lit in lits):
            return None
        return self.mark(ast.ListLit(tuple(lits), self.nowhere), j, jpath)

    def tag_list(self, j: JNode, jpath: str) -> ast.ListLit | None:
        if not self.expect(j, "array", jpath, "a list of tags"):
            return None
        lits = []
        for i, item in enumerate(j.value):
            text = self.string(item, f"{jpath}[{i}]", "a tag (a string)")
            lits.append(None if text is None else self.mark(ast.StringLit(text, self.nowhere), item, f"{jpath}[{i}]"))
        if any(lit is None for lit in lits):
            return None
        return self.mark(ast.ListLit(tuple(lits), self.nowhere), j, jpath)

    def pair(self, j: JNode, jpath: str, f: Field | None):
        items = self.values(j, jpath)
        if items is None:
            return None
        if len(items) != 2:
            return self.err("E0504", f"a range needs exactly two values, low and high; found {len(items)}", j, jpath,
                            help="write [low, high]")
        low, high = (self.scalar(item, p, f) for item, p in items)
        return None if low is None or high is None else (low, high)

    def duration(self, j: JNode, jpath: str) -> ast.Duration | None:
        if not self.expect(j, "object", jpath, 'a duration, {"amount": 30, "unit": "days"}'):
            return None
        self.keys(j, jpath, ("amount", "unit"), "a duration")
        amount_j, unit_j = j.value.get("amount"), j.value.get("unit")
        if amount_j is None or unit_j is None:
            return self.err("E0504", 'a duration needs "amount" and "unit"', j, jpath,
                            help='write {"amount": 30, "unit": "days"}')
        unit = self.string(unit_j, json_path(jpath, "unit"), '"days", "weeks" or "hours"')
        ok_amount = amount_j.kind == "number" and re.fullmatch(r"[0-9]{1,9}", amount_j.value)
        if not ok_amount:
            self.err("E0509", f"a duration is a whole number of days, weeks or hours, not {describe_json(amount_j, True)}",
                     amount_j, json_path(jpath, "amount"), label="not a whole number",
                     help="`before` and `after` already look into the past; the amount is never negative")
        if unit is not None and unit not in ("day", "days", "week", "weeks", "hour", "hours"):
            self.err("E0509", f"unknown unit {quoted(unit)}", unit_j, json_path(jpath, "unit"),
                     help='use "days", "weeks" or "hours" (months and years vary in length)')
            return None
        if not ok_amount or unit is None:
            return None
        unit = {"w": "weeks", "h": "hours"}.get(unit[0], "days")
        return self.mark(ast.Duration(int(amount_j.value), unit, self.nowhere), j, jpath)


def json_path(base: str, key: str) -> str:
    part = key if NAME.fullmatch(key) else f"[{json.dumps(key)}]"
    if not base:
        return part
    return f"{base}{part}" if part.startswith("[") else f"{base}.{part}"


def where_in_json(jpath: str) -> str:
    return f"in the JSON at `{jpath}`" if jpath else "in the JSON at the top level"


def describe_json(j: JNode, value: bool = False) -> str:
    if value and j.kind == "string":
        return f"the string {quoted(j.value)}"
    if value and j.kind in ("number", "bool"):
        return f"`{str(j.value).lower()[:40]}`"
    return {"object": "an object", "array": "an array", "string": "a string", "number": "a number",
            "bool": "true or false", "null": "null"}[j.kind]


def _article(word: str) -> str:
    return {"object": "an object", "array": "an array", "bool": "a boolean", "int": "an integer",
            "enum": "an enum"}.get(word, f"a {word}")


def _plural(kind: Kind) -> str:
    return {Kind.TEXT: "text", Kind.ENUM: "enum values", Kind.TAGS: "tags", Kind.DATE: "dates",
            Kind.TIMESTAMP: "timestamps"}.get(kind, "values")
