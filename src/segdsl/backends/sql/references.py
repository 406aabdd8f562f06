"""Segment references in one SQL statement: which referenced segments are read from a
CTE of their own, which are written inline, and the query blocks that read them.

A segment the statement refers to once — counting the references in the rule and in
the rule of every segment it reaches, each segment's rule once — is written where it is
used, as ``COALESCE(rule, FALSE)``: the query an engineer writes, which every engine
plans as one scan. A segment referred to more than once becomes one CTE of its members'
keys, in dependency order after the profile::

    WITH "segment_lapsed" AS (SELECT "guest_id" AS "member" FROM "profile" WHERE ...)

Each query block that tests it (the statement's own, or another segment's CTE) LEFT
JOINs it once on the key, and ``"segment_lapsed"."member" IS NOT NULL`` is TRUE or
FALSE, never unknown, as membership must be. One join per block, however often the
block tests the segment, matters: SQLite and MariaDB expand every reference to a CTE
into a copy of it, so a reference per test would copy a chain of segments, each testing
the last twice, 2**n times. They still copy a segment once per chain of CTEs that
reaches it, which :attr:`Plan.copies` counts for the target's limit.
"""

from __future__ import annotations

import attrs

from segdsl import ir
from segdsl.ir.semantics import COMPARE
from segdsl.schema.model import Field, Schema


@attrs.frozen(eq=False)
class Block:
    """One query of the statement: its own WHERE, or the CTE of one segment's members."""

    node: ir.Node  # the condition, in negation normal form
    joins: tuple[str, ...]  # the segment CTEs it LEFT JOINs, in first-use order
    traits: tuple[Field, ...]  # the traits it reads (inline segments' included)
    name: str | None = None  # the CTE's name; None for the statement's own block
    member: ir.Member | None = None  # a reference to the CTE's segment
    rank: ir.Rank | None = None  # for a ranking's CTE: the ranking (``node`` is its population)


@attrs.frozen(eq=False)
class Plan:
    blocks: tuple[Block, ...]  # segment and ranking CTEs in dependency order, the statement's own last
    ctes: dict[int, str]  # id of a CTE segment's rule → the CTE's name
    ranks: dict[int, str]  # id of a ranking → the name of its CTE
    column: str  # the name of the key in every segment CTE
    derived: tuple[Field, ...]  # every trait read, in schema order
    bare: frozenset[str]  # traits whose missing count or sum may stay NULL (see _traits_read)
    copies: int  # CTE copies an engine makes if it copies a CTE per reference

    @property
    def main(self) -> Block:
        return self.blocks[-1]


def plan_references(node: ir.Node, schema: Schema) -> Plan:
    """The plan for the statement whose condition is ``node`` (in negation normal form)."""
    reached, counts = ir.references(node)
    # Not the name the FROM calls the profile table by (with or without its schema).
    taken = {"profile", schema.table, schema.table.rsplit(".", 1)[-1]}
    shared = [m for m in reached if counts[id(m.rule)] > 1]
    ctes = {id(m.rule): _fresh(f"segment_{m.segment}", taken) for m in shared}
    column = _fresh("member", {f.column for f in schema.fields.values()})
    found = ir.rankings(node)
    ranks = {id(r): _fresh(f"rank_{i}", taken) for i, r in enumerate(found, 1)}

    blocks = [_block(ir.Const(True) if r.population is None else ir.negation_normal_form(r.population),
                     ctes, ranks, ranks[id(r)], None, r) for r in found]
    blocks += [_block(ir.negation_normal_form(m.rule), ctes, ranks, ctes[id(m.rule)], m) for m in shared]
    blocks = _dependencies_first(blocks)
    blocks.append(_block(node, ctes, ranks, None, None))

    # Chains of CTEs from the statement's block to each CTE, dependents first.
    paths = dict.fromkeys([*ctes.values(), *ranks.values()], 0)
    copies = 0
    for block in reversed(blocks):
        reach = 1 if block.name is None else paths[block.name]
        copies += reach if block.name is not None else 0
        for name in block.joins:
            paths[name] += reach

    derived: dict[str, Field] = {}
    ok: set[str] = set()
    bad: set[str] = set()
    for block in blocks:
        _traits_read(block.node, ctes, derived, ok, bad)
        if block.rank is not None and block.rank.field.derive is not None:
            # Ranked: a count or sum of no rows is 0, which ranks, where NULL would not.
            derived.setdefault(block.rank.field.name, block.rank.field)
            bad.add(block.rank.field.name)
    traits = list(derived.values())
    if len(traits) > 1:  # in schema order, so rules reading the same traits share one CTE text
        rank = {name: i for i, name in enumerate(schema.fields)}
        traits.sort(key=lambda f: rank.get(f.name, len(rank)))
    return Plan(tuple(blocks), ctes, ranks, column, tuple(traits), frozenset(ok - bad), copies)


def _dependencies_first(blocks: list[Block]) -> list[Block]:
    """The CTE blocks ordered so that each comes after the CTEs it joins, keeping the
    given order where it already is one."""
    by_name = {b.name: b for b in blocks}
    out: list[Block] = []
    done: set[str] = set()
    for root in blocks:
        stack = [(root, iter(root.joins))]
        if root.name in done:
            continue
        done.add(root.name)  # type: ignore[arg-type]
        while stack:
            block, deps = stack[-1]
            for name in deps:
                if name not in done:
                    done.add(name)
                    stack.append((by_name[name], iter(by_name[name].joins)))
                    break
            else:
                stack.pop()
                out.append(block)
    return out


def _block(node: ir.Node, ctes: dict[int, str], ranks: dict[int, str], name: str | None,
           member: ir.Member | None, rank: ir.Rank | None = None) -> Block:
    """The block of ``node``: inline segments are entered (each is referenced once in
    the whole statement), CTE segments and rankings are joined. A ranking's block (its
    population's) also reads the ranked field."""
    joins: dict[str, None] = {}
    traits: dict[str, Field] = {}
    if rank is not None and rank.field.derive is not None:
        traits[rank.field.name] = rank.field
    stack = [node]
    while stack:
        n = stack.pop()
        cls = n.__class__
        if cls is ir.And or cls is ir.Or:
            stack.extend(reversed(n.items))
        elif cls is ir.Not:
            stack.append(n.item)
        elif cls is ir.Member:
            cte = ctes.get(id(n.rule))
            if cte is None:
                stack.append(n.rule)
            else:
                joins[cte] = None
        elif cls is ir.Rank:
            joins[ranks[id(n)]] = None
        else:
            f = getattr(n, "field", None)
            if f is not None and f.derive is not None:
                traits.setdefault(f.name, f)
    return Block(node, tuple(joins), tuple(traits.values()), name, member, rank)


def _traits_read(node: ir.Node, ctes: dict[int, str], derived: dict[str, Field], ok: set[str], bad: set[str]) -> None:
    """Add to ``derived`` the traits one block reads, in first-use order, and sort the
    count/sum traits among them: into ``ok`` where the block tests them, outside any NOT,
    only by comparisons 0 fails (NULL and 0 select alike there), else into ``bad``. For
    traits only ever ``ok`` the profile need not COALESCE a missing count or sum to 0,
    and the WHERE stays strict in them, so Postgres can turn the LEFT JOIN into a join.
    A block's own WHERE is positive; a CTE segment is judged in its own block."""

    def walk(n: ir.Node, positive: bool) -> None:
        cls = n.__class__
        if cls is ir.And or cls is ir.Or:
            for i in n.items:
                walk(i, positive)
            return
        if cls is ir.Not:
            return walk(n.item, False)
        if cls is ir.Member:
            if id(n.rule) not in ctes:
                walk(ir.negation_normal_form(n.rule), positive)
            return
        if cls is ir.FieldCmp:
            # A count or sum compared with another value: its 0 for no rows matters.
            for g in (n.field, n.other):
                if g.derive is not None:
                    derived.setdefault(g.name, g)
                    if g.derive.fn in ("count", "sum"):
                        bad.add(g.name)
            return
        if cls is ir.Rank:
            return  # read in the ranking's own block
        f = getattr(n, "field", None)
        if f is None or f.derive is None:
            return
        derived.setdefault(f.name, f)
        if f.derive.fn not in ("count", "sum"):
            return
        if cls is ir.Cmp:
            zero_fails = not COMPARE[n.op](0, n.value)
        elif cls is ir.InSet:
            zero_fails = 0 not in n.values
        else:
            zero_fails = False
        (ok if positive and zero_fails else bad).add(f.name)

    walk(node, True)


def _fresh(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3`` ... if taken; the result is taken from now on."""
    out, n = name, 1
    while out in taken:
        n += 1
        out = f"{name}_{n}"
    taken.add(out)
    return out
