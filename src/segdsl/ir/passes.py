"""Passes over the IR: walking, the fields a rule reads, negation normal form,
nullability and depth. Pure functions of the tree, shared by the checker, lint and
every backend.

A rule with segment references is a graph: every reference to a segment holds the same
rule object (see :class:`segdsl.ir.nodes.Member`). Each pass that enters references
visits a referenced rule once, remembered by object for the length of the pass, so its
cost is the size of the rules involved, never the number of paths through them."""

from __future__ import annotations

from collections.abc import Callable

from segdsl.ir.nodes import (
    And, Bucket, Cmp, Const, DayCmp, FieldCmp, InstantCmp, IsNull, IsTrue, Member, Node, Not, Or, Rank, Sequence,
)
from segdsl.ir.semantics import FLIP, NEGATE
from segdsl.schema.model import Field


def implies_true(rule: Node, field_name: str) -> bool:
    """Whether ``rule`` can only be TRUE where the boolean field is TRUE: it requires the
    field in every branch (through segment membership too)."""
    memo: dict[int, bool] = {}

    def implies(node: Node) -> bool:
        match node:
            case IsTrue(field=f) | Cmp(field=f, op="=", value=True):
                return f.name == field_name
            case And(items):
                return any(implies(i) for i in items)
            case Or(items):
                return all(implies(i) for i in items)
            case Member(rule=inner):
                if id(inner) not in memo:
                    memo[id(inner)] = implies(inner)
                return memo[id(inner)]
        return False

    return implies(rule)


def excludes_bucket(rule: Node, salt: str, low: int, high: int) -> bool:
    """Whether ``rule`` can only be TRUE where the entity's bucket under ``salt`` is
    outside [low, high): every branch says `not in holdout ...` (through segment
    membership too), or keeps to buckets of that salt disjoint from the range. The proof
    that a journey never enrols a holdout's members (E0146)."""
    memo: dict[int, bool] = {}

    def excludes(node: Node) -> bool:
        match node:
            case Not(item=Bucket(salt=s, low=lo, high=hi)):
                return s == salt and lo <= low and high <= hi
            case Bucket(salt=s, low=lo, high=hi):
                return s == salt and (hi <= low or high <= lo)
            case Const(value=False):
                return True
            case And(items):
                return any(excludes(i) for i in items)
            case Or(items):
                return all(excludes(i) for i in items)
            case Not(item=(And() | Or() | Not()) as inner):
                return excludes(negation_normal_form(inner, negate=True))
            case Member(rule=inner):
                if id(inner) not in memo:
                    memo[id(inner)] = excludes(inner)
                return memo[id(inner)]
        return False

    return excludes(rule)


def without_exclusion(rule: Node, salt: str, low: int, high: int) -> Node:
    """``rule`` with every ``not (bucket in [low, high))`` under ``salt`` taken as TRUE
    (through segment membership too): the audience a journey would have had without
    excluding a holdout, to compare the holdout's members with."""
    memo: dict[int, Node] = {}

    def drop(node: Node) -> Node:
        match node:
            case Not(item=Bucket(salt=s, low=lo, high=hi)) if s == salt and lo <= low and high <= hi:
                return Const(True, node.span)
            case And(items):
                return And(tuple(drop(i) for i in items), node.span)
            case Or(items):
                return Or(tuple(drop(i) for i in items), node.span)
            case Not(item=(And() | Or() | Not()) as inner):
                return drop(negation_normal_form(inner, negate=True))
            case Member(segment=name, rule=inner):
                if id(inner) not in memo:
                    memo[id(inner)] = drop(inner)
                new = memo[id(inner)]
                return node if new is inner else Member(f"{name} (holdout kept)", new, node.span)
        return node

    return drop(rule)


def walk(node: Node):
    """Every node of a rule, parents first. A segment reference is entered the first
    time its segment is met; later references to it are yielded but not entered."""
    stack = [node]
    entered: set[int] = set()
    while stack:
        n = stack.pop()
        yield n
        match n:
            case And(items) | Or(items):
                stack.extend(reversed(items))
            case Not(item):
                stack.append(item)
            case Member(rule=rule) if id(rule) not in entered:
                entered.add(id(rule))
                stack.append(rule)
            case Rank(population=population) if population is not None and id(population) not in entered:
                entered.add(id(population))
                stack.append(population)


def references(node: Node) -> tuple[list[Member], dict[int, int]]:
    """The segments a rule reaches, as one reference to each, dependencies first, and how
    many references each has (by ``id`` of its rule) in the rule and in the rules of the
    segments reached, each of those counted once: how often a backend that writes each
    rule once would write the segment's name."""
    counts: dict[int, int] = {}
    first: list[Member] = []
    done: set[int] = set()
    stack = [(node, iter(own_references(node)))]
    while stack:
        _, refs = stack[-1]
        for m in refs:
            key = id(m.rule)
            counts[key] = counts.get(key, 0) + 1
            if key not in done:
                done.add(key)
                stack.append((m, iter(own_references(m.rule))))
                break
        else:
            m, _ = stack.pop()
            if stack:
                first.append(m)  # type: ignore[arg-type]
    return first, counts


def own_references(node: Node) -> list[Member]:
    """The references in ``node`` itself (the populations of its rankings included),
    not inside the segments they reference."""
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        cls = n.__class__
        if cls is And or cls is Or:
            stack.extend(reversed(n.items))
        elif cls is Not:
            stack.append(n.item)
        elif cls is Member:
            out.append(n)
        elif cls is Rank and n.population is not None:
            stack.append(n.population)
    return out


def rankings(node: Node) -> list[Rank]:
    """The rankings a rule reaches (through segment references and populations), each
    once, those a population depends on before the ranking that reads it."""
    out: list[Rank] = []
    seen: set[int] = set()  # rules of segments entered
    ranked: set[int] = set()  # rankings met (a segment's whole rule may be one)
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        n, done = stack.pop()
        if done:
            out.append(n)  # type: ignore[arg-type]
            continue
        cls = n.__class__
        if cls is And or cls is Or:
            stack.extend((i, False) for i in reversed(n.items))
        elif cls is Not:
            stack.append((n.item, False))
        elif cls is Member:
            if id(n.rule) not in seen:
                seen.add(id(n.rule))
                stack.append((n.rule, False))
        elif cls is Rank and id(n) not in ranked:
            ranked.add(id(n))
            stack.append((n, True))
            if n.population is not None:
                stack.append((n.population, False))
    return out


def fields_used(node: Node) -> list[Field]:
    """The profile fields a rule reads (through segment references too), by name."""
    seen: dict[str, Field] = {}
    for n in walk(node):
        f = getattr(n, "field", None)
        if isinstance(f, Field):
            seen.setdefault(f.name, f)
        if n.__class__ is FieldCmp:
            seen.setdefault(n.other.name, n.other)
    return list(seen.values())


def sequences(node: Node) -> list[Sequence]:
    """The event sequences a rule tests (through segment references too), without
    repeats, in first-use order."""
    seen: dict[Sequence, None] = {}
    for n in walk(node):
        if n.__class__ is Sequence:
            seen.setdefault(n, None)
    return list(seen)


def derived_fields(node: Node) -> list[Field]:
    """The fields of a rule that are computed from source tables, in first-use order."""
    return [f for f in fields_used(node) if f.derive is not None]


def negation_normal_form(node: Node, negate: bool = False) -> Node:
    """Push every ``Not`` down to a leaf, flattening and/or as it goes.

    Exact under three-valued logic: De Morgan's laws and double negation hold in
    Kleene logic, and negating a comparison keeps NULL unknown (there is no NaN: the
    data layer rejects it). A leaf that has no negated form keeps a single ``Not``.
    Depth only shrinks, which keeps SQL within engines' parser limits. A segment
    reference is a leaf here: membership is two-valued, so ``not`` stays above it, and
    the referenced rule keeps its own form (backends normalise it where they read it).
    """
    cls = node.__class__
    if cls is And or cls is Or:
        out = And if (cls is And) != negate else Or
        flat: list[Node] = []
        same = not negate  # nothing to rebuild: the node is already in this form
        for item in node.items:
            n = negation_normal_form(item, negate)
            if n.__class__ is out:
                flat.extend(n.items)
                same = False
            else:
                flat.append(n)
                same = same and n is item
        if len(flat) == 1:
            return flat[0]
        return node if same else out(tuple(flat), node.span)
    if cls is Not:
        return negation_normal_form(node.item, not negate)
    if not negate:
        return node
    if cls is Const:
        return Const(not node.value, node.span)
    if cls is Cmp:
        return Cmp(node.field, NEGATE[node.op], node.value, node.span)
    if cls is DayCmp:
        return DayCmp(node.field, NEGATE[node.op], node.day, node.span)
    if cls is InstantCmp:
        return InstantCmp(node.field, NEGATE[node.op], node.hours, node.span)
    if cls is FieldCmp:
        return FieldCmp(node.field, NEGATE[node.op], node.other, node.days, node.span)
    return Not(node, getattr(node, "span", None))


def can_be_null(node: Node) -> bool:
    """Whether the rule can evaluate to unknown for some row."""
    match node:
        case And(items) | Or(items):
            return any(can_be_null(i) for i in items)
        case Not(item):
            return can_be_null(item)
        case Const() | IsNull() | Member() | Bucket() | Sequence():
            return False
        case FieldCmp(field=f, other=g):
            return f.nullable or g.nullable
    return node.field.nullable  # type: ignore[union-attr]


def depth(node: Node, leaf: Callable[[Member], bool] | None = None) -> int:
    """Levels of and/or/not above the deepest leaf, plus one. A segment reference adds a
    level above its segment's rule (each rule measured once), unless ``leaf`` says the
    reference is read as a leaf (a SQL backend reading a segment from a CTE)."""
    memo: dict[int, int] = {}

    def measure(n: Node) -> int:
        match n:
            case And(items) | Or(items):
                return 1 + max(measure(i) for i in items)
            case Not(item):
                return 1 + measure(item)
            case Member(rule=rule):
                if leaf is not None and leaf(n):
                    return 1
                if id(rule) not in memo:
                    memo[id(rule)] = measure(rule)
                return 1 + memo[id(rule)]
            case Sequence(first=first, then=then):
                # Each side's rule is written inside the sequence's subqueries.
                return 1 + max((measure(w) for w in (first.where, then.where) if w is not None), default=1)
        return 1

    return measure(node)


__all__ = ["FLIP", "NEGATE", "can_be_null", "depth", "derived_fields", "excludes_bucket", "fields_used",
           "implies_true", "negation_normal_form", "own_references", "rankings", "references", "sequences", "walk",
           "without_exclusion"]
