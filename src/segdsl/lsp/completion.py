"""Completion: what may come next, judged from the tokens before the cursor.

The buffer rarely parses while someone types, so the context comes from the token scan,
not the parser: the nearest clause keyword or brace says where we are (top level, the
clause list, a `where` rule, `refresh`), and the last few tokens say what fits next
(a field, an operator for that field's type, an enum value, a segment name).
"""

from __future__ import annotations

import attrs

from segdsl import ir
from segdsl.check.predicates import comparable
from segdsl.lsp.analysis import Document, Snapshot
from segdsl.lsp.hover import field_markdown, type_text
from segdsl.lsp.text import AGGREGATES, CLAUSES, KINDS, Token, enclosing_aggregate, enclosing_events
from segdsl.schema.model import NUMERIC, ORDERED, Field, Kind, Schema
from segdsl.syntax.keywords import KEYWORDS, first_words


@attrs.frozen
class Item:
    label: str
    kind: str  # field | keyword | value | segment | cadence | source | split | holdout | arm
    detail: str | None = None
    doc: str | None = None
    insert: str | None = None


@attrs.frozen
class Completions:
    items: tuple[Item, ...]
    #: The text the chosen item replaces (the word or string being typed).
    start: int
    end: int


_EXPR_START = ("and", "or", "not")
_TIME_WORDS = ("within", "before", "after")
_UNITS = first_words("UNIT")
_CLAUSE_DOC = {
    "description": "free text for people",
    "refresh": "manual | hourly | daily | weekly",
    "where": "the rule (dynamic and smart segments)",
    "members": "the member keys (static segments)",
}


def complete(snapshot: Snapshot | None, doc: Document, offset: int) -> Completions:
    sc = doc.scan
    none = Completions((), offset, offset)
    if sc.in_comment(offset):
        return none
    tok = sc.token_before(offset)
    start, end = offset, offset
    in_string = False
    if tok is not None and tok.start < offset:
        if tok.kind == "string":
            if offset < tok.end or tok.open:
                in_string = True
                start, end = tok.start, tok.end
        elif tok.kind == "name":
            start, end = tok.start, tok.end
        elif tok.kind in ("number", "date") and offset <= tok.end:
            return none
    prior = sc.tokens[: sc.index_before(start)]
    items = _items(snapshot, prior, in_string)
    return Completions(tuple(items), start, end)


def _items(snapshot: Snapshot | None, prior: tuple[Token, ...], in_string: bool) -> list[Item]:
    schema = snapshot.schema if snapshot is not None else None
    agg = enclosing_aggregate(prior, len(prior))
    if agg is not None:
        return _aggregate(snapshot, schema, prior, agg, in_string)
    side = enclosing_events(prior, len(prior))
    if side is not None:
        return _events(snapshot, schema, prior, side, in_string)
    anchor = None
    for i in range(len(prior) - 1, -1, -1):
        t = prior[i]
        if t.kind == "punct" and t.text in "{}":
            anchor = i
            break
        if t.kind == "name" and t.text in CLAUSES:
            if t.text == "where" and (enclosing_aggregate(prior, i) is not None or _side_where(prior, i)):
                continue  # the rule of an inline aggregate or a sequence's side, already closed
            anchor = i
            break
        if t.kind == "name" and t.text == "segment" and not (i > 0 and prior[i - 1].text == "in"):
            anchor = i
            break
    if anchor is None or prior[anchor].text == "}":
        if in_string:
            return []
        if prior and prior[-1].text in KINDS:
            return [Item("segment", "keyword", "declare a segment")]
        return _declaration_keywords()
    a = prior[anchor]
    rest = prior[anchor + 1 :]
    if a.text == "segment":  # in a declaration's header: a name or title is being written
        return []
    if in_string and a.text != "where":
        return []
    if a.text == "{":
        return _clause_keywords(prior, anchor)
    if a.text == "description":
        return [] if not rest else _clause_keywords(prior, anchor)
    if a.text == "refresh":
        if not rest:
            return [Item(c, "cadence", "refresh cadence") for c in ir.CADENCES]
        return _clause_keywords(prior, anchor)
    if a.text == "members":
        if rest and rest[-1].text == "]":
            return _clause_keywords(prior, anchor)
        return []
    return _expression(snapshot, schema, prior, anchor, list(rest), in_string)


def _aggregate(
    snapshot: Snapshot | None, schema: Schema | None, prior: tuple[Token, ...], paren: int, in_string: bool
) -> list[Item]:
    """Inside ``fn(source[.column] [by column] [where rule])``."""
    head = list(prior[paren + 1 :])
    sources = dict(getattr(schema, "sources", None) or {}) if schema is not None else {}
    source = sources.get(head[0].text) if head and head[0].kind == "name" else None
    for w, t in enumerate(head):
        if t.kind == "name" and t.text == "where" and enclosing_aggregate(head, w) is None:
            if source is None:
                return []
            return _expression(snapshot, source, prior, paren + 1 + w, head[w + 1 :], in_string, nested=True)
    if in_string:
        return []
    if not head:
        return [Item(name, "source", "source table" + (f": {src.doc}" if src.doc else ""))
                for name, src in sources.items()]
    last = head[-1]
    if source is not None and (last.text in (".", "by")):
        return [_field_item(source, f) for f in source.fields.values()]
    if last.kind == "name":
        return [Item("where", "keyword", "only the rows where a rule over the source's columns holds"),
                Item("by", "keyword", "latest(source.column by ordering_column)")]
    return []


def _side_where(prior: tuple[Token, ...], i: int) -> bool:
    """Whether ``prior[i]`` is the ``where`` of a sequence's side: ``( NAME where``."""
    return i >= 2 and prior[i - 1].kind == "name" and prior[i - 2].kind == "punct" and prior[i - 2].text == "("


def _event_sources(schema: Schema | None) -> dict[str, Schema]:
    sources = dict(getattr(schema, "sources", None) or {}) if schema is not None else {}
    return {name: src for name, src in sources.items() if getattr(src, "time", None)}


def _events(
    snapshot: Snapshot | None, schema: Schema | None, prior: tuple[Token, ...], paren: int, in_string: bool
) -> list[Item]:
    """Inside one side of an event sequence, ``(source [where rule])``."""
    head = list(prior[paren + 1 :])
    source = _event_sources(schema).get(head[0].text) if head else None
    if len(head) >= 2 and head[1].text == "where":
        if source is None:
            return []
        return _expression(snapshot, source, prior, paren + 2, head[2:], in_string, nested=True)
    if in_string:
        return []
    if not head:
        return _event_source_items(schema)
    if source is not None:
        return [Item("where", "keyword", "only the events where a rule over the source's columns holds")]
    return []


def _event_source_items(schema: Schema | None) -> list[Item]:
    return [Item(name, "source", f"event source, time `{src.time}`" + (f": {src.doc}" if src.doc else ""))
            for name, src in _event_sources(schema).items()]


def _closed_side(schema: Schema | None, e: list[Token]) -> bool:
    """Whether ``e`` ends with a closed ``(SOURCE [where ...])`` over an event source."""
    depth = 0
    for k in range(len(e) - 1, -1, -1):
        t = e[k]
        if t.kind != "punct":
            continue
        if t.text == ")":
            depth += 1
        elif t.text == "(":
            depth -= 1
            if depth == 0:
                return k + 1 < len(e) and e[k + 1].text in _event_sources(schema) and (
                    e[k + 2].text in ("where", ")"))
    return False


_SEQUENCE_DOC = "an event of the group before, then one of the group after within the window"


# ------------------------------------------------------------------- declarations


def _declaration_keywords() -> list[Item]:
    return [
        Item("segment", "keyword", "a segment with a `where` rule"),
        Item("static segment", "keyword", "a fixed list of member keys"),
        Item("smart segment", "keyword", "a rule over a model score"),
        Item("dynamic segment", "keyword", "a segment with a `where` rule (the default kind)"),
        Item("split", "keyword", "a deterministic split of every entity into arms"),
        Item("holdout", "keyword", "a share of entities no journey may enrol: holdout NAME 5% salt \"...\""),
    ]


def _clause_keywords(prior: tuple[Token, ...], anchor: int) -> list[Item]:
    # The clauses already written in this declaration, and its kind.
    open_at = next((i for i in range(anchor, -1, -1) if prior[i].text == "{" and prior[i].kind == "punct"), None)
    present = set()
    kind = "dynamic"
    if open_at is not None:
        present = {t.text for t in prior[open_at:] if t.kind == "name" and t.text in CLAUSES}
        header = prior[max(0, open_at - 4) : open_at]
        kind = next((t.text for t in header if t.text in KINDS), "dynamic")
    wanted = ("description", "refresh", "members") if kind == "static" else ("description", "refresh", "where")
    return [Item(c, "keyword", _CLAUSE_DOC[c]) for c in wanted if c not in present]


# --------------------------------------------------------------------- expressions


@attrs.frozen
class _Operand:
    field: Field | None
    days: bool  # days_since(field), or a derived day count


def _operand_ending(schema: Schema | None, toks: list[Token], i: int) -> _Operand | None:
    """The operand whose last token is ``toks[i]``, if it is one."""
    if i < 0 or schema is None:
        return None
    t = toks[i]
    if t.text == ")" and i >= 3 and toks[i - 3].text == "days_since" and toks[i - 2].text == "(":
        return _Operand(schema.fields.get(toks[i - 1].text), True)
    if t.kind == "punct" and t.text == ")":
        depth = 0
        for k in range(i, -1, -1):
            depth += {")": 1, "(": -1}.get(toks[k].text, 0) if toks[k].kind == "punct" else 0
            if depth == 0:
                if k > 0 and toks[k - 1].text in AGGREGATES:
                    return _Operand(None, False)  # an aggregate: its type depends on the function
                return None
        return None
    if t.kind != "name" or t.text in KEYWORDS:
        return None
    if i > 0 and toks[i - 1].text == "(" and i > 1 and toks[i - 2].text == "days_since":
        return None  # the argument of days_since(...), not yet closed
    if i > 0 and toks[i - 1].text == "segment":
        return None
    f = schema.fields.get(t.text)
    if f is None:
        return None
    return _Operand(f, f.days_since is not None)


def _expression(
    snapshot: Snapshot | None,
    schema: Schema | None,
    prior: tuple[Token, ...],
    anchor: int,
    e: list[Token],
    in_string: bool,
    nested: bool = False,
) -> list[Item]:
    """Completion inside a rule; ``nested``: the rule of an inline aggregate, over the
    columns of a source table (``schema`` is then that source)."""
    # Inside an unclosed list: values for the field before it.
    depth = 0
    for j in range(len(e) - 1, -1, -1):
        if e[j].text == "]":
            depth += 1
        elif e[j].text == "[":
            if depth == 0:
                return _list_values(schema, e, j, in_string)
            depth -= 1
    last = e[-1] if e else None
    before = e[-2] if len(e) > 1 else None
    if in_string:
        if last is not None and last.kind == "op" and last.text in ("=", "!="):
            op = _operand_ending(schema, e, len(e) - 2)
            if op is not None and op.field is not None and op.field.kind is Kind.ENUM:
                return _enum_values(op.field, ())
        return []
    if last is not None and last.text == "(" and before is not None and before.text == "by" and len(e) > 2 \
            and e[-3].text == "followed":
        return _event_source_items(schema)  # the second side: an event source only
    if last is None or last.text in ("and", "or") or (last.text == "(" and not (before and before.text == "days_since")):
        out = _expression_start(schema, nested)
        if last is not None and last.text == "(" and not nested:
            out += _event_source_items(schema)  # `(bookings where ...) followed by ...`
        return out
    if last.text == "not":
        if _operand_ending(schema, e, len(e) - 2) is not None:
            return [Item("in", "keyword", "not in [values]"), Item("between", "keyword", "not between low and high")]
        if before is not None and before.text == "is":
            return [Item("null", "keyword")]
        return [i for i in _expression_start(schema, nested) if i.label != "not"]
    if last.text == "in":
        ranked = _operand_ending(schema, e, len(e) - 2)
        if ranked is not None and _rankable(ranked):
            return [_TOP_PERCENT]  # `ltv in top 10%`, or a list `[`
        if ranked is not None or (
            before is not None and before.text == "not" and _operand_ending(schema, e, len(e) - 3) is not None
        ):
            return []
        return [Item("segment", "keyword", "in segment NAME: the members of another segment"),
                Item("split", "keyword", "in split NAME.ARM: the entities in one arm of a split"),
                Item("holdout", "keyword", "in holdout NAME: the entities of a holdout")]
    if last.text == "among":
        return [Item("in segment", "keyword", "rank the members of a segment"),
                Item("(", "keyword", "rank the entities where a rule is TRUE: among (rule)")]
    if last.text == "by" and before is not None and before.kind == "number" and len(e) > 2 and e[-3].text == "top":
        return [_field_item(schema, f) for f in (schema.fields.values() if schema else ()) if f.kind in ORDERED]
    if last.text == "top" or (last.kind == "number" and not last.text.endswith("%") and before is not None
                              and before.text == "top"):
        return [Item("by", "keyword", "top N by value")] if last.kind == "number" else []
    if _ends_ranking(schema, e):
        return [_AMONG, Item("and", "keyword"), Item("or", "keyword")]
    if last.text == "segment" and before is not None and before.text == "in":
        return _segment_names(snapshot)
    if last.text in ("split", "holdout") and before is not None and before.text == "in":
        return _split_names(snapshot, last.text)
    if last.text == "." and len(e) >= 3 and e[-3].text == "split":
        return _arm_names(snapshot, e[-2].text)
    if last.text == "(" and before is not None and before.text == "days_since":
        return [_field_item(schema, f) for f in (schema.fields.values() if schema else ())
                if f.kind in (Kind.DATE, Kind.TIMESTAMP) and f.days_since is None]
    if last.kind == "op":
        op = _operand_ending(schema, e, len(e) - 2)
        if op is None or op.field is None:
            return []
        # Another field may stand on the right: those this one can be compared with.
        others = [_field_item(schema, g) for g in schema.fields.values()
                  if g is not op.field and comparable(op.field, g, last.text)] if not nested and schema else []
        if op.field.kind is Kind.ENUM and last.text in ("=", "!="):
            return _enum_values(op.field, ()) + others
        if op.field.kind is Kind.BOOL and last.text in ("=", "!="):
            return [Item("true", "keyword"), Item("false", "keyword")] + others
        return others
    if last.text == "is":
        return [Item("null", "keyword"), Item("not null", "keyword")]
    if last.text in ("starts", "ends"):
        return [Item("with", "keyword")]
    if last.text == "has":
        return [Item("any", "keyword", "has any [tags]"), Item("all", "keyword", "has all [tags]")]
    if last.text == "ignoring":
        return [Item("case", "keyword")]
    if last.text == "followed" and not nested:
        return [Item("by", "keyword")]
    if last.text == "by" and before is not None and before.text == "followed" and not nested:
        return [Item(f"({name})", "source", item.detail) for name, item in
                ((i.label, i) for i in _event_source_items(schema))]
    if last.text == ")" and not nested and _closed_side(schema, e):
        if len(e) > 2 and any(t.text == "followed" for t in e[-40:]) and _after_sequence_head(e):
            return [Item("within", "keyword", "within N days | weeks: the window after each first event")]
        return [Item("followed by", "keyword", _SEQUENCE_DOC),
                Item("not followed by", "keyword", "an event of the group before whose window closed without one "
                     "of the group after"),
                Item("and", "keyword"), Item("or", "keyword")]
    if last.text in _TIME_WORDS + ("between", "days_since", "contains", "with"):
        return []
    if last.kind == "number" and before is not None and before.text in _TIME_WORDS:
        units = [Item("days", "keyword", "whole UTC calendar days"), Item("weeks", "keyword", "7 days each")]
        subject = _operand_ending(schema, e, len(e) - 3)
        if subject is not None and subject.field is not None and subject.field.kind is Kind.TIMESTAMP:
            units.append(Item("hours", "keyword", "exact instants: the as-of minus N × 3600 s"))
        return units
    if last.text in _UNITS and len(e) > 2 and e[-3].text in ("before", "after"):
        return [Item("ago", "keyword")]
    op = _operand_ending(schema, e, len(e) - 1)
    if op is not None:
        return _operators(op)
    # A complete predicate: join it to another, or close the rule with a clause.
    out = [Item("and", "keyword"), Item("or", "keyword")]
    if last.kind == "string" and before is not None and before.text in ("contains", "with"):
        out.append(Item("ignoring case", "keyword", "match ASCII letters regardless of case"))
    if _paren_depth(e) == 0 and not nested:
        out += _clause_keywords(prior, anchor)
    return out


_RANKING_DOC = ("A ranking: `ltv in top 10% [among ...]` is TRUE for the entities whose value ranks in the "
                "best 10% of the population (ties at the cut-off all in); `top 500 by ltv [among ...]` for the "
                "first 500 (ties broken by the smallest key). A NULL value is unknown; an entity outside the "
                "population is false. See docs/language.md, \"Ranking\".")
_TOP_PERCENT = Item("in top", "keyword", "in top P% [among ...]: the best P% of a population", _RANKING_DOC)
_AMONG = Item("among", "keyword", "the population ranked: among in segment NAME, or among (rule)", _RANKING_DOC)


def _rankable(op: _Operand) -> bool:
    """Whether a ranking can rank the operand (an aggregate's type is not known here)."""
    return op.days or op.field is None or op.field.kind in ORDERED


def _ends_ranking(schema: Schema | None, e: list[Token]) -> bool:
    """Whether the tokens end with a ranking that has no `among` yet: `... in top P %`
    or `top N by OPERAND`."""
    if e and e[-1].text.endswith("%"):
        return True
    for k in range(len(e) - 1, 1, -1):
        if e[k].kind == "name" and e[k].text in ("and", "or", "not", "among"):
            return False
        if e[k].text == "by" and e[k - 1].kind == "number" and e[k - 2].text == "top":
            return k < len(e) - 1 and _operand_ending(schema, e, len(e) - 1) is not None
    return False


def _after_sequence_head(e: list[Token]) -> bool:
    """Whether the closed group ``e`` ends with is the second side: ``followed by (...)``."""
    depth = 0
    for k in range(len(e) - 1, -1, -1):
        t = e[k]
        if t.kind == "punct" and t.text == ")":
            depth += 1
        elif t.kind == "punct" and t.text == "(":
            depth -= 1
            if depth == 0:
                return k >= 2 and e[k - 1].text == "by" and e[k - 2].text == "followed"
    return False


def _paren_depth(e: list[Token]) -> int:
    depth = 0
    for t in e:
        if t.kind == "punct" and t.text == "(":
            depth += 1
        elif t.kind == "punct" and t.text == ")":
            depth = max(0, depth - 1)
    return depth


def _expression_start(schema: Schema | None, nested: bool = False) -> list[Item]:
    out = [_field_item(schema, f) for f in (schema.fields.values() if schema else ())]
    out.append(Item("not", "keyword", "negation; unknown stays unknown"))
    if not nested:
        out += [
            Item("in segment", "keyword", "the members of another segment"),
            Item("top", "keyword", "top N by value [among ...]: the N best entities of a population",
                 _RANKING_DOC),
            Item("in split", "keyword", "the entities in one arm of a split: in split NAME.ARM"),
            Item("in holdout", "keyword", "the entities of a holdout"),
            Item("days_since(", "keyword", "whole UTC days since a date or timestamp field"),
        ]
        if getattr(schema, "sources", None):
            out += [Item(f"{fn}(", "keyword", doc) for fn, doc in _AGGREGATE_DOC.items()]
        out += [Item(f"({name} where ", "keyword", f"an event sequence starting with `{name}` events: "
                     f"(...) followed by (...) within N days") for name in _event_sources(schema)]
    return out


_AGGREGATE_DOC = {
    "count": "count(source where rule): rows of a source table",
    "sum": "sum(source.column where rule)",
    "min": "min(source.column where rule)",
    "max": "max(source.column where rule)",
    "latest": "latest(source.column by column where rule)",
}


def _field_item(schema: Schema | None, f: Field) -> Item:
    return Item(f.name, "field", type_text(f) + ("" if f.nullable else ", not nullable"),
                field_markdown(schema, f) if schema is not None else f.doc)


def _segment_names(snapshot: Snapshot | None) -> list[Item]:
    if snapshot is None:
        return []
    out = []
    for name in snapshot.segment_names():
        found = snapshot.defs.get(name)
        title = found[1].title.value if found is not None and found[1].title is not None else None
        out.append(Item(name, "segment", title or "segment"))
    return out


def _split_names(snapshot: Snapshot | None, word: str) -> list[Item]:
    if snapshot is None:
        return []
    defs = snapshot.split_defs if word == "split" else snapshot.holdout_defs
    return [Item(name, word, d.title.value if d.title is not None else word) for name, d in defs.items()]


def _arm_names(snapshot: Snapshot | None, split: str) -> list[Item]:
    sp = snapshot.split_defs.get(split) if snapshot is not None else None
    if sp is None:
        return []
    return [Item(a.name, "arm", f"{a.weight.text}% of split {split}") for a in sp.arms]


def _enum_values(f: Field, used: tuple[str, ...]) -> list[Item]:
    from segdsl.syntax.printer import string_text

    return [Item(string_text(v), "value", f"{f.name}: enum value") for v in f.type.values if v not in used]


def _list_values(schema: Schema | None, e: list[Token], j: int, in_string: bool) -> list[Item]:
    """Values inside ``FIELD in [...`` / ``not in [`` / ``has any [`` at the cursor."""
    inside = e[j + 1 :]
    if inside and inside[-1].text not in (",",) and not in_string:
        return []
    k = j - 1
    if k >= 0 and e[k].text == "in":
        k -= 1
        if k >= 0 and e[k].text == "not":
            k -= 1
    else:
        return []
    op = _operand_ending(schema, e, k)
    if op is None or op.field is None:
        return []
    if op.field.kind is Kind.ENUM:
        from segdsl.lsp.text import string_value

        used = tuple(string_value(t) for t in inside if t.kind == "string" and not t.open)
        return _enum_values(op.field, used)
    if op.field.kind is Kind.BOOL and not in_string:
        return [Item("true", "keyword"), Item("false", "keyword")]
    return []


def _operators(op: _Operand) -> list[Item]:
    f = op.field
    words: list[tuple[str, str]] = []
    kind = Kind.INT if op.days or f is None else f.kind
    if kind in NUMERIC or kind in (Kind.DATE, Kind.TIMESTAMP):
        words += [(o, "comparison") for o in ("=", "!=", "<", "<=", ">", ">=")]
        words += [("between", "inclusive range: between low and high"), ("not between", "outside a range")]
    elif kind is not Kind.TAGS:
        words += [("=", "equals"), ("!=", "differs (NULL stays unknown)")]
    if kind is not Kind.TAGS:
        words += [("in", "in [values]"), ("not in", "not in [values]")]
    if kind is Kind.TEXT:
        words += [("contains", "substring, literal"), ("starts with", "prefix, literal"), ("ends with", "suffix, literal")]
    if kind is Kind.TAGS:
        words += [("has", 'has "tag"'), ("has any", "has any [tags]"), ("has all", "has all [tags]")]
    if kind in (Kind.DATE, Kind.TIMESTAMP) and not op.days:
        words += [("within", "within N days"), ("before", "before N days ago"), ("after", "after N days ago")]
    words += [("is null", "true where the value is missing"), ("is not null", "true where the value is present")]
    out = [Item(w, "keyword", d) for w, d in words]
    if _rankable(op):
        out.append(_TOP_PERCENT)
    if kind is Kind.BOOL and not op.days:
        out += [Item("and", "keyword"), Item("or", "keyword")]
    return out
