"""Typed IR → SQL expression trees (sqlglot nodes, never pasted strings), and the
per-thread sqlglot generators that write them.

Semantics follow :mod:`segdsl.ir` exactly; where an engine's SQL would disagree, the
tree is built to overcome it: substring functions instead of LIKE (no wildcards, no
case folding surprises), explicit ASCII folding, E'...' strings on Postgres, bounds on
the column instead of functions of it (so indexes apply), COALESCE around segment
membership (two-valued), and flat, shallow and/or groups.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from decimal import Decimal
from typing import Any

from sqlglot import exp

from segdsl import ir
from segdsl.backends.sql.references import Block, Plan, plan_references
from segdsl.backends.sql.sequences import sequence_sql
from segdsl.backends.sql.shared import Unsupported, unit_shift, where_clause
from segdsl.backends.sql.shared import number as _number
from segdsl.backends.sql.storage import param_value, table_ref
from segdsl.backends.sql.targets import Target
from segdsl.diagnostics import error
from segdsl.ir.semantics import (
    ASCII_LOWER,
    ASCII_UPPER,
    BUCKET_HASH_FUNCTION,
    BUCKET_HEX_DIGITS,
    BUCKETS,
    COMPARE,
    DAY_MICROS,
    DAY_WINDOWS,
    EVERY_DAY,
    FIXED_POINT,
    INT64_MAX,
    INT64_MIN,
    HOUR_MICROS,
    NO_DAY,
    TOP_KEY_ASCENDING,
    as_of_date,
    day_bound,
    day_ordinal,
    day_start,
    day_windows,
    epoch_micros,
    fixed_point_comparison,
    fold_ascii,
    hours_before,
    instant_comparison,
    integer_comparison,
    latest_rank,
    percent_ratio,
    scaled,
    timestamp_text,
    utc_instant,
)
from segdsl.schema.model import Field, Kind, Schema

#: and/or lists longer than this are split into parenthesised groups, so an engine that
#: parses `a AND b AND c ...` into a left-deep tree never sees thousands of levels.
GROUP = 64


def generate_sql(tgt: Target, statement, pretty: bool, rule) -> str:
    """``statement`` as SQL text in the target's dialect, every identifier quoted; a
    construct the dialect cannot express becomes an E0404 diagnostic."""
    from sqlglot.errors import ErrorLevel, UnsupportedError

    try:
        # The trees were built for this call alone, so sqlglot need not copy them.
        return _dialect(tgt.dialect).generate(
            statement, copy=False, identify=True, pretty=pretty, unsupported_level=ErrorLevel.RAISE
        )
    except UnsupportedError as exc:
        raise Unsupported(
            error("E0404", f"{tgt.dialect} cannot express this rule: {exc}", getattr(rule, "span", None))
        ) from None


class Builder:
    def __init__(self, schema: Schema, target: Target, as_of: dt.datetime | None, params: bool):
        self.schema = schema
        self.t = target
        self.as_of = as_of
        self.today = as_of_date(as_of) if as_of is not None else None
        self.use_params = params
        self.params: dict[str, Any] = {}
        #: Parameter names: p1, p2, ... in the rule; t1, t2, ... in the profile CTE.
        self.param_prefix = "p"
        self.param_count = {"p": 0, "t": 0}
        # count/sum traits the WHERE only tests with comparisons 0 fails: their profile
        # column may stay NULL for entities without rows (see `_traits_read`), so
        # the WHERE is strict in them and Postgres can turn the LEFT JOIN into a join.
        self.bare: set[str] = set()
        #: Segments read from a CTE (by their rule's id) and the key's name in those CTEs.
        self.shared: dict[int, str] = {}
        #: Rankings read from a CTE (by the ranking's id): the CTE's name.
        self.ranks: dict[int, str] = {}
        self.member_column = "member"
        #: For a bare condition (Builder.condition): the CTEs its segment tests read.
        self.subquery_ctes: list | None = None
        #: Functions the SQL calls that the connection must register (see SqlResult).
        self.functions: set[str] = set()
        #: The name of the table the condition being built reads its rows from (the
        #: profile CTE or the entity table), which event sequences correlate with.
        self.outer_table = "profile"
        #: The alias a source's columns are qualified with inside an event sequence's
        #: subquery (None elsewhere: columns of the one table read).
        self.qualifier: str | None = None

    # -- statements

    def statements(self, plan: Plan, form: str, view_name: str, *, columns=(), limit: int | None = None) -> list:
        """The statement(s) of ``form`` for the plan's blocks, under the profile's and the
        segments' CTEs; a ``select`` lists the key, then ``columns``, and keeps ``limit``
        members."""
        key = self.column(self.schema.key)
        # Nodes built directly: the fluent builders (select().from_()...) copy and parse.
        if form == "count":
            columns = [exp.Alias(this=exp.Count(this=exp.Star()), alias=exp.to_identifier("size", quoted=True))]
        else:
            columns = [key, *(self.column(f) for f in columns if f.column != self.schema.key.column)]
        # Built in the order of the text but for the profile, built last: parameters
        # p1, p2, ... follow the rule and t1, t2, ... (the profile's) come after them.
        segments = self.segment_ctes(plan)
        select = self.block(plan.main, plan, columns)
        select = self.with_(select, self.profile_ctes(plan) + segments)
        if form == "count":
            return [select]
        if form == "select":
            # Text keys in code point order, the order of the in-memory member lists.
            select.set("order", exp.Order(expressions=[self.code_point_order(self.schema.key, key.copy())]))
            if limit is not None:
                select.set("limit", exp.Limit(expression=exp.Literal.number(int(limit))))
            return [select]
        view = exp.to_table(view_name, quoted=True)
        if self.t.replace_view:
            return [exp.Create(this=view, kind="VIEW", replace=True, expression=select)]
        return [
            exp.Drop(tables=[view.copy()], kind="VIEW", exists=True),
            exp.Create(this=view, kind="VIEW", expression=select),
        ]

    def segment_ctes(self, plan: Plan) -> list:
        """One CTE per segment the statement reads from one (see
        :mod:`segdsl.backends.sql.references`), in dependency order."""
        self.shared, self.ranks, self.member_column = plan.ctes, plan.ranks, plan.column
        key = self.column(self.schema.key)
        out = []
        for b in plan.blocks[:-1]:
            if b.rank is not None:
                select = self.block(b, plan, [_as(key.copy(), plan.column), _as(self.rank_hit(b.rank), "hit")])
            else:
                select = self.block(b, plan, [_as(key.copy(), plan.column)])
                select.set("distinct", exp.Distinct())
            out.append(_cte(b.name, select))
        return out

    def rank_hit(self, rank: ir.Rank):
        """A ranking's verdict for each member of its population (see
        :mod:`segdsl.ir.semantics`, "ranking"): 1 in, 0 out, NULL where the value is
        NULL. Only non-NULL values are ranked: they are a partition of their own, so no
        engine's place for NULL in an order matters."""
        value = self.column(rank.field)
        if rank.days and rank.field.kind is Kind.TIMESTAMP:
            value = self.utc_day(value)
        is_null = exp.Is(this=self.column(rank.field), expression=exp.Null())
        nulls = exp.Case(ifs=[exp.If(this=is_null.copy(), true=exp.Literal.number(1))], default=exp.Literal.number(0))
        order = [exp.Ordered(this=value, desc=not rank.days)]
        if rank.limit is not None:
            key = self.code_point_order(self.schema.key, self.column(self.schema.key))
            order.append(exp.Ordered(this=key, desc=not TOP_KEY_ASCENDING))
            place = exp.Window(this=exp.RowNumber(), partition_by=[nulls], order=exp.Order(expressions=order))
            test = exp.LTE(this=place, expression=_number(str(rank.limit)))
        else:
            a, b = percent_ratio(rank.percent)
            place = exp.Window(this=exp.Anonymous(this="RANK"), partition_by=[nulls],
                               order=exp.Order(expressions=order))
            above = exp.Paren(this=exp.Sub(this=place, expression=exp.Literal.number(1)))
            n = exp.Window(this=exp.Count(this=self.column(rank.field)))
            test = exp.LT(this=exp.Mul(this=_number(str(b)), expression=above) if b != 1 else above,
                          expression=exp.Mul(this=_number(str(a)), expression=n) if a != 1 else n)
        return exp.Case(ifs=[exp.If(this=is_null, true=exp.Null()),
                             exp.If(this=test, true=exp.Literal.number(1))],
                        default=exp.Literal.number(0))

    def utc_day(self, e):
        """A timestamp's UTC calendar day, in a form whose order and equality are the
        day's (a date, or the date part of the stored text)."""
        match self.t.timestamps:
            case "text":
                return exp.Substring(this=e, start=exp.Literal.number(1), length=exp.Literal.number(10))
            case "utc_datetime":
                return _cast(e, exp.DataType.Type.DATE)
            case "micros":
                return _date_of_day(_day_number(exp.Anonymous(this="UNIX_MICROS", expressions=[e])))
        return _cast(exp.AtTimeZone(this=e, zone=exp.Literal.string("UTC")), exp.DataType.Type.DATE)

    def profile_ctes(self, plan: Plan) -> list:
        """The profile CTE, if any block reads a trait."""
        if not plan.derived:
            return []
        self.bare = set(plan.bare)
        return [_cte("profile", self.profile(list(plan.derived)))]

    def block(self, block: Block, plan: Plan, columns: list):
        """``SELECT columns FROM <profile or table> LEFT JOIN <segment CTEs> WHERE ...``."""
        table = exp.Table(this=exp.to_identifier("profile", quoted=True)) if block.traits else self.table()
        name = table.name  # what the joins' conditions call it: the table's name without its schema
        self.outer_table = name
        cond = self.cond(block.node)
        joins = [
            exp.Join(
                this=exp.Table(this=_ident(cte)),
                side="LEFT",
                on=exp.EQ(
                    this=exp.Column(this=_ident(plan.column), table=_ident(cte)),
                    expression=exp.Column(this=_ident(self.schema.key.column), table=_ident(name)),
                ),
            )
            for cte in block.joins
        ]
        # A ranking over every entity has no population to test.
        where = None if block.rank is not None and block.rank.population is None else where_clause(cond)
        return exp.Select(expressions=columns, from_=exp.From(this=table), joins=joins or None, where=where)

    @staticmethod
    def with_(select, ctes: list):
        if ctes:
            # Built directly: Query.with_ would parse each name with sqlglot's parser.
            select.set("with_", exp.With(expressions=ctes))
        return select

    def profile(self, derived: list[Field]):
        """SELECT e.*, <each trait> FROM <entity> e LEFT JOIN <one grouped scan per
        source> ... LEFT JOIN <one ranked scan per `latest` trait>. Its parameters are
        named t1, t2, ..., so the same CTE has the same text whatever the rule."""
        outer, self.param_prefix = self.param_prefix, "t"
        try:
            return self._profile(derived)
        finally:
            self.param_prefix = outer

    def _profile(self, derived: list[Field]):
        entity = exp.to_identifier("e", quoted=True)
        key = self.schema.key.column
        columns: list = [exp.Column(this=exp.Star(), table=_ident("e"))]
        joins = []
        grouped: dict[str, list[Field]] = {}
        for f in derived:
            if f.derive.fn != "latest":
                grouped.setdefault(f.derive.source, []).append(f)
        for n, fields in enumerate(grouped.values()):
            alias = exp.to_identifier(f"s{n}", quoted=True)
            agg = fields[0].derive
            cols = [_as(self.entity_key(agg), "k")]
            # Rows no trait of this scan counts are filtered out in the scan itself, so
            # an index on the filter's columns applies; an entity left without rows
            # gets the same NULL (or, below, 0) from the LEFT JOIN as before.
            filters = list(dict.fromkeys(ir.negation_normal_form(f.derive.where) for f in fields
                                         if f.derive.where is not None))
            filtered = bool(filters) and all(f.derive.where is not None for f in fields)
            # Every trait of the scan counting the same rows: the scan's filter alone picks them.
            alone = filtered and len(filters) == 1
            for f in fields:
                cols.append(_as(self.aggregate(f.derive, filtered=alone), f.column))
                value = exp.Column(this=exp.to_identifier(f.column, quoted=True), table=_ident(alias.name))
                if f.derive.fn in ("count", "sum") and f.name not in self.bare:
                    value = exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])
                columns.append(_as(value, f.column))
            sub = exp.select(*cols, copy=False).from_(table_ref(self.t, agg.table), copy=False)
            if filtered:
                parts = [self.cond(w) for w in filters]
                sub.set("where", where_clause(parts[0] if len(parts) == 1 else self.connect(False, parts)))
            joins.append((sub.group_by(self.entity_key(agg), copy=False), alias))
        for n, f in enumerate(f for f in derived if f.derive.fn == "latest"):
            alias = exp.to_identifier(f"l{n}", quoted=True)
            joins.append((self.latest(f), alias))
            value = exp.Column(this=exp.to_identifier(f.column, quoted=True), table=_ident(alias.name))
            columns.append(_as(value, f.column))
        source = self.table()
        source.set("alias", exp.TableAlias(this=entity))
        # Joins built as nodes: Select.join would parse its join type with sqlglot's parser.
        return exp.Select(expressions=columns, from_=exp.From(this=source), joins=[
            exp.Join(
                this=exp.Subquery(this=sub, alias=exp.TableAlias(this=alias)),
                side="LEFT",
                on=exp.EQ(
                    this=exp.Column(this=exp.to_identifier("k", quoted=True), table=_ident(alias.name)),
                    expression=self.exact(self.schema.key, exp.Column(this=exp.to_identifier(key, quoted=True),
                                                                      table=_ident("e"))),
                ),
            )
            for sub, alias in joins
        ])

    def aggregate(self, agg: ir.Aggregate, filtered: bool = False):
        """COUNT / SUM / MIN / MAX over the rows where the trait's rule is TRUE (the rows
        of the scan when ``filtered``: its WHERE is that rule)."""
        cond = self.cond(ir.negation_normal_form(agg.where)) if agg.where is not None and not filtered else None
        if agg.fn == "count":
            if cond is None:
                return exp.Count(this=exp.Star())
            return exp.Count(this=exp.Case(ifs=[exp.If(this=cond, true=exp.Literal.number(1))]))
        value = self.column(agg.column)
        if cond is not None:
            value = exp.Case(ifs=[exp.If(this=cond, true=value)])
        return {"sum": exp.Sum, "min": exp.Min, "max": exp.Max}[agg.fn](this=value)

    def latest(self, f: Field):
        """The trait's column from each entity's latest row: ranked by `by`, then by the
        greatest id (text ids in code point order, as in memory, whatever the collation)."""
        agg = f.derive
        src = self.schema.sources[agg.source]
        fields = {c.column: c for c in src.fields.values()}
        order = exp.Order(expressions=[
            exp.Ordered(this=self.code_point_order(fields[c], _col(c)), desc=True) for c in latest_rank(agg)
        ])
        rank = exp.Window(this=exp.RowNumber(), partition_by=[self.entity_key(agg)], order=order)
        inner = exp.select(
            _as(self.entity_key(agg), "k"),
            _as(self.column(agg.column), f.column),
            _as(rank, "rn"),
            copy=False,
        ).from_(table_ref(self.t, agg.table), copy=False)
        conditions = [exp.Not(this=exp.Is(this=self.column(agg.by), expression=exp.Null()))]
        if agg.where is not None:
            conditions.insert(0, exp.Paren(this=self.cond(ir.negation_normal_form(agg.where))))
        inner = inner.where(*conditions, copy=False)
        ranked = exp.Subquery(this=inner, alias=exp.TableAlias(this=_ident("ranked")))
        return (
            exp.select(_col("k"), _col(f.column), copy=False)
            .from_(ranked, copy=False)
            .where(exp.EQ(this=_col("rn"), expression=exp.Literal.number(1)), copy=False)
        )

    def entity_key(self, agg: ir.Aggregate):
        """A source row's entity key, grouped and joined on exactly: text keys that differ
        only in case or trailing spaces are different entities (MariaDB's default
        collations would merge them)."""
        return self.exact(self.schema.key, _col(agg.entity_key))

    def table(self):
        return table_ref(self.t, self.schema.table)

    def column(self, f: Field):
        if self.qualifier is not None:
            return exp.Column(this=exp.to_identifier(f.column, quoted=True), table=_ident(self.qualifier))
        return exp.Column(this=exp.to_identifier(f.column, quoted=True))

    # -- conditions

    def condition(self, rule: ir.Node):
        """The rule as a three-valued SQL condition over the profile table alone. A
        segment the statement reads from a CTE is tested as ``key IN (WITH <the CTEs>
        SELECT ... FROM <its CTE>)``, which is two-valued too: keys are never NULL."""
        node = ir.negation_normal_form(rule)
        plan = plan_references(node, self.schema)
        self.check_depth(plan, rule)
        self.shared, self.ranks, self.member_column = plan.ctes, plan.ranks, plan.column
        if plan.ctes or plan.ranks:
            segments = self.segment_ctes(plan)
            self.subquery_ctes = self.profile_ctes(plan) + segments
        else:
            self.subquery_ctes = []
        self.outer_table = "profile" if plan.main.traits else self.table().name
        return self.cond(node)

    def check_depth(self, plan: Plan, rule: ir.Node) -> None:
        """Each block's condition against the target's limit: a segment read from a CTE
        is a leaf of its readers; one written inline nests where it is used."""
        if self.t.max_depth is not None:
            for block in plan.blocks:
                d = ir.depth(block.node, leaf=lambda m: id(m.rule) in plan.ctes)
                if d > self.t.max_depth:
                    raise Unsupported(
                        error("E0402", f"{self.t.dialect} cannot parse conditions nested {d} levels deep "
                              f"(its limit is about {self.t.max_depth})",
                              rule.span if block.member is None else block.member.span,
                              help="flatten the rule, or compile for another target")
                    )
        if self.t.cte_copies is not None and plan.copies > self.t.cte_copies:
            raise Unsupported(
                error("E0405", f"{self.t.dialect} would copy the segments this rule refers to {plan.copies} "
                      f"times (its limit here is {self.t.cte_copies})", rule.span,
                      help=f"{self.t.dialect} computes a segment once for every chain of references that reaches "
                      "it; refer to shared segments from fewer segments, or compile for another target")
            )

    def cond(self, node: ir.Node):
        """``node`` (in negation normal form) as SQL: one method per node class."""
        return _COND[node.__class__](self, node)

    def _connective(self, node: ir.And | ir.Or):
        return self.connect(node.__class__ is ir.And, [self.cond(i) for i in node.items])

    def _not(self, node: ir.Not):
        item = node.item
        if item.__class__ is ir.Member and self.subquery_ctes is None:
            cte = self.shared.get(id(item.rule))
            if cte is not None:  # not a member: no row of the segment's CTE joined
                return exp.Is(this=exp.Column(this=_ident(self.member_column), table=_ident(cte)), expression=exp.Null())
        inner = self.cond(item)
        return exp.Not(this=inner if item.__class__ is ir.IsNull else exp.Paren(this=inner))

    def _const(self, node: ir.Const):
        return exp.true() if node.value else exp.false()

    def _cmp(self, node: ir.Cmp):
        field, op, value = node.field, node.op, node.value
        if self.scaled_decimals(field):
            bound = integer_comparison(op, scaled(value, field.type.scale or 0))
            if isinstance(bound, bool):
                return _constant_for(field, bound)
            return _OPS[bound[0]](self.column(field), self.value(field, bound[1]))
        return _OPS[op](self.exact(field, self.text_column(field)), self.exact(field, self.value(field, value)))

    def _field_cmp(self, node: ir.FieldCmp):
        """Two fields compared (see :class:`segdsl.ir.nodes.FieldCmp`): their UTC days, two
        exact numbers stored as whole units of different places divided, never multiplied
        (:func:`~segdsl.ir.semantics.fixed_point_comparison`), text byte for byte where
        the engine's collation would pad or fold; NULL on either side stays unknown."""
        f, op, g = node.field, node.op, node.other
        if node.days:
            return _OPS[op](self.day_of(f), self.day_of(g))
        if self.scaled_decimals(f) or self.scaled_decimals(g):
            swapped, m, op = fixed_point_comparison(op, _scale(f), _scale(g))
            a, b = (self.column(g), self.column(f)) if swapped else (self.column(f), self.column(g))
            if m == 1:
                return _OPS[op](a, b)
            parts = [_OPS[o](a.copy(), self.divided(b, m, rounding)) for o, rounding in FIXED_POINT[op]]
            if len(parts) == 1:
                return parts[0]
            return exp.Paren(this=(exp.And if op == "=" else exp.Or)(this=parts[0], expression=parts[1]))
        return _OPS[op](self.exact(f, self.text_column(f)), self.exact(g, self.text_column(g)))

    def divided(self, b, m: int, rounding: str):
        """floor(b / m) or ceil(b / m) for an integer column ``b`` and a power of ten
        ``m``, in integer arithmetic: the engine's ``/`` truncates toward zero."""
        def num(k: int):
            return exp.Literal.number(k)

        rem = exp.Mod(this=b.copy(), expression=num(m))
        floor = exp.Sub(this=exp.Div(this=b.copy(), expression=num(m), typed=True),
                        expression=exp.Case(ifs=[exp.If(this=exp.LT(this=rem.copy(), expression=num(0)),
                                                        true=num(1))], default=num(0)))
        if rounding == "floor":
            return exp.Paren(this=floor)
        return exp.Paren(this=exp.Add(this=floor, expression=exp.Case(
            ifs=[exp.If(this=exp.EQ(this=rem, expression=num(0)), true=num(0))], default=num(1))))

    def day_of(self, f: Field):
        """A date or timestamp column's UTC calendar date, as the engine stores dates."""
        col = self.column(f)
        if f.kind is not Kind.TIMESTAMP:
            return col
        return self.utc_day(col)

    def _in_set(self, node: ir.InSet):
        field, values = node.field, node.values
        if self.scaled_decimals(field):
            whole = [c.numerator for c in (scaled(v, field.type.scale or 0) for v in values) if c.denominator == 1]
            if not whole:
                return _constant_for(field, False)
            return exp.In(this=self.column(field), expressions=[self.value(field, v) for v in whole])
        return exp.In(this=self.exact(field, self.text_column(field)),
                      expressions=[self.exact(field, self.value(field, v)) for v in values])

    def _is_null(self, node: ir.IsNull):
        return exp.Is(this=self.column(node.field), expression=exp.Null())

    def _is_true(self, node: ir.IsTrue):
        col = self.column(node.field)
        return col if self.t.bare_bool else exp.EQ(this=col, expression=exp.true())

    def _member(self, node: ir.Member):
        """Membership, two-valued: read from the segment's CTE (see
        :mod:`segdsl.backends.sql.references`), or its rule inline, NULL taken as FALSE."""
        cte = self.shared.get(id(node.rule))
        if cte is not None:
            member = exp.Column(this=_ident(self.member_column), table=_ident(cte))
            if self.subquery_ctes is None:
                return exp.Not(this=exp.Is(this=member, expression=exp.Null()))
            # A bare condition has no FROM to join to: the CTEs go into a subquery.
            select = exp.Select(expressions=[member], from_=exp.From(this=exp.Table(this=_ident(cte))),
                                with_=exp.With(expressions=[c.copy() for c in self.subquery_ctes]))
            return exp.In(this=self.column(self.schema.key), query=exp.Subquery(this=select))
        rule = ir.negation_normal_form(node.rule)
        inner = self.cond(rule)
        if not ir.can_be_null(rule):
            return exp.Paren(this=inner)
        return exp.Coalesce(this=inner, expressions=[exp.false()])

    def _rank(self, node: ir.Rank):
        """A ranking, read from its CTE: FALSE outside the population (no row joined),
        else the verdict (NULL where the value is NULL)."""
        cte = self.ranks[id(node)]
        hit = exp.EQ(this=exp.Column(this=_ident("hit"), table=_ident(cte)), expression=exp.Literal.number(1))
        if self.subquery_ctes is not None:
            # A bare condition has no FROM to join to: the CTEs go into subqueries.
            def keys(where):
                select = exp.Select(expressions=[exp.Column(this=_ident(self.member_column))],
                                    from_=exp.From(this=exp.Table(this=_ident(cte))), where=where_clause(where),
                                    with_=exp.With(expressions=[c.copy() for c in self.subquery_ctes]))
                return exp.In(this=self.column(self.schema.key), query=exp.Subquery(this=select))

            unknown = exp.Is(this=exp.Column(this=_ident("hit")), expression=exp.Null())
            return exp.Case(ifs=[exp.If(this=keys(hit), true=exp.true()), exp.If(this=keys(unknown), true=exp.Null())],
                            default=exp.false())
        outside = exp.Is(this=exp.Column(this=_ident(self.member_column), table=_ident(cte)), expression=exp.Null())
        return exp.Case(ifs=[exp.If(this=outside, true=exp.false())], default=hit)

    def bucket(self, node: ir.Bucket):
        """``low <= bucket < high``, the bucket computed as
        :func:`segdsl.ir.semantics.bucket` defines it, exactly on every engine."""
        key = self.column(node.field)
        if node.field.kind is not Kind.TEXT:
            key = _cast(key, exp.DataType.Type.TEXT)  # an integer in decimal on every engine
        text = exp.DPipe(this=self.value_of(Kind.TEXT, node.salt + ":"), expression=key, safe=True)
        hashed, buckets = self.bucket_hash(text, node.span), _number(str(BUCKETS))
        b = (exp.Anonymous(this="MOD", expressions=[hashed, buckets]) if self.t.mod_function
             else exp.Paren(this=exp.Mod(this=hashed, expression=buckets)))
        low, high = _number(str(node.low)), _number(str(node.high - 1))
        if node.low > 0 and node.high < BUCKETS:
            return exp.Between(this=b, low=low, high=high)
        if node.low > 0:
            return exp.GTE(this=b, expression=low)
        if node.high < BUCKETS:
            return exp.LTE(this=b, expression=high)
        return exp.true()

    def bucket_hash(self, text, span):
        """The integer of :func:`segdsl.ir.semantics.bucket_hash` of the SQL text ``text``."""
        digits = _number(str(BUCKET_HEX_DIGITS))
        match self.t.bucket_hash:
            case "sha256_bit":
                digest = exp.Anonymous(this="SHA256", expressions=[
                    exp.Anonymous(this="CONVERT_TO", expressions=[text, exp.Literal.string("UTF8")])])
                hex_ = exp.Anonymous(this="ENCODE", expressions=[digest, exp.Literal.string("hex")])
                head = exp.Substring(this=hex_, start=_number("1"), length=digits)
                bits = exp.DPipe(this=exp.Literal.string("x"), expression=exp.Pad(
                    this=head, expression=_number("16"), fill_pattern=exp.Literal.string("0"), is_left=True))
                return exp.Cast(this=exp.Cast(this=bits, to=exp.DataType.build("BIT(64)", dialect="postgres")),
                                to=exp.DataType(this=exp.DataType.Type.BIGINT, nested=False))
            case "sha256_hex":
                head = exp.Substring(this=exp.Anonymous(this="SHA256", expressions=[text]), start=_number("1"),
                                     length=digits)
                return _cast(exp.DPipe(this=exp.Literal.string("0x"), expression=head, safe=True),
                             exp.DataType.Type.BIGINT)
            case "sha2_conv":
                head = exp.Substring(this=exp.Anonymous(this="SHA2", expressions=[text, _number("256")]),
                                     start=_number("1"), length=digits)
                conv = exp.Anonymous(this="CONV", expressions=[head, _number("16"), _number("10")])
                return _cast(conv, exp.DataType.Type.UBIGINT)
            case "sha2_conv_signed":
                head = exp.Substring(this=exp.Anonymous(this="SHA2", expressions=[text, _number("256")]),
                                     start=_number("1"), length=digits)
                conv = exp.Anonymous(this="CONV", expressions=[head, _number("16"), _number("10")])
                return _cast(conv, exp.DataType.Type.BIGINT)
            case "function":
                self.functions.add(BUCKET_HASH_FUNCTION)
                return exp.Anonymous(this=BUCKET_HASH_FUNCTION, expressions=[text])
        raise Unsupported(
            error("E0409", f"{self.t.dialect}: segdsl does not know how to compute a split's buckets on this target",
                  span, help="compile for postgres, duckdb, sqlite or mysql, where the bucket is verified")
        )

    def scaled_decimals(self, f: Field) -> bool:
        """Whether ``f`` is stored as whole numbers of its last decimal place."""
        return f.kind is Kind.DECIMAL and self.t.decimals == "scaled"

    def connect(self, is_and: bool, parts: list):
        cls = exp.And if is_and else exp.Or
        while len(parts) > GROUP:
            parts = [exp.Paren(this=self._chain(cls, parts[i : i + GROUP])) for i in range(0, len(parts), GROUP)]
        return self._chain(cls, parts)

    @staticmethod
    def _chain(cls, parts: list):
        def wrap(p):
            return exp.Paren(this=p) if isinstance(p, exp.Connector) and not isinstance(p, cls) else p

        out = wrap(parts[0])
        for p in parts[1:]:
            out = cls(this=out, expression=wrap(p))
        return out

    # -- values

    def value(self, f: Field, v: Any):
        """A value compared with ``f``: a literal, or the next bound parameter."""
        return self.value_of(f.kind, v)

    def value_of(self, kind: Kind, v: Any):
        if self.use_params:
            self.param_count[self.param_prefix] += 1
            name = f"{self.param_prefix}{self.param_count[self.param_prefix]}"
            self.params[name] = self.param_value(kind, v)
            if self.t.epoch_params and isinstance(v, dt.date):
                # Bound as a number (see Target.epoch_params), turned back in the SQL.
                if isinstance(v, dt.datetime):
                    return _micros_instant(exp.Placeholder(this=name))
                return _date_of_day(exp.Placeholder(this=name))
            return exp.Placeholder(this=name)
        return self.literal(kind, v)

    def param_value(self, kind: Kind, v: Any) -> Any:
        return param_value(self.t, kind, v)

    def literal(self, kind: Kind, v: Any):
        cls = v.__class__
        if cls is bool:
            return exp.true() if v else exp.false()
        if cls is int:
            return _number(str(v))
        if cls is Decimal:
            return self.decimal_literal(v)
        if cls is str:
            return self.text(v)
        if cls is dt.datetime:
            return self.timestamp_literal(v)
        if cls is dt.date:
            return self.date_literal(v)
        match v:  # subclasses of the types above
            case bool():
                return exp.true() if v else exp.false()
            case int():
                return _number(str(int(v)))
            case Decimal():
                return self.decimal_literal(Decimal(v))
            case float():
                return _number(repr(float(v)))
            case str():
                return self.text(str(v))
            case dt.datetime():
                return self.timestamp_literal(v)
            case dt.date():
                return self.date_literal(v)
        raise AssertionError(v)  # pragma: no cover

    def text(self, s: str):
        if self.t.backslash_text == "escape_string" and "\\" in s:
            if not _has_control(s):
                # E'...' means the same with standard_conforming_strings on or off.
                return exp.ByteString(this=s)
            # sqlglot writes some control characters in E'...' as escapes Postgres does
            # not read back (a vertical tab as \v). Without any backslash inside a
            # literal, the pieces mean the same under either setting.
            parts: list = []
            for i, piece in enumerate(s.split("\\")):
                if i:
                    parts.append(exp.Chr(expressions=[exp.Literal.number(92)]))
                if piece:
                    parts.append(exp.Literal.string(piece))
            out = parts[0]
            for p in parts[1:]:
                out = exp.DPipe(this=out, expression=p)
            return exp.Paren(this=out)
        if self.t.backslash_text == "hex" and ("\\" in s or _has_control(s)):
            # A hex literal means the same with or without NO_BACKSLASH_ESCAPES; sqlglot
            # writes a backslash, NUL, TAB, LF, CR, ^H and ^Z as backslash escapes, which
            # that mode reads as two characters.
            return exp.Introducer(this=exp.Var(this="_utf8mb4"), expression=exp.HexString(this=s.encode().hex()))
        if self.t.backslash_text == "hex_cast" and ("\\" in s or "'" in s or _has_control(s)):
            # Spark escapes a quote with a backslash, which escapedStringLiterals=true
            # reads as itself; the UTF-8 bytes in hex mean the same under either setting.
            return exp.Cast(this=exp.HexString(this=s.encode().hex()), to=_STRING.copy())
        return exp.Literal(this=s, is_string=True)

    def decimal_literal(self, v: Decimal):
        """An exact decimal: a numeric literal, or text cast to an exact type where the
        engine reads a literal with a point as a float."""
        text = format(v, "f")
        if self.t.decimal_literals == "plain":
            return _number(text)
        if v == v.to_integral_value() and INT64_MIN <= v <= INT64_MAX:
            return _number(str(int(v)))  # a whole number is exact as an integer
        places = max(0, -v.as_tuple().exponent)
        whole = len(text.lstrip("-").split(".")[0].lstrip("0"))
        numeric = places <= _NUMERIC_PLACES and whole <= _NUMERIC_DIGITS - _NUMERIC_PLACES
        return _cast(exp.Literal.string(text), exp.DataType.Type.DECIMAL if numeric else exp.DataType.Type.BIGDECIMAL)

    def date_literal(self, d: dt.date):
        if self.t.dates == "text":
            return exp.Literal.string(d.isoformat())
        if self.t.datetime_literals == "format":
            return exp.Anonymous(this="TO_DATE", expressions=[exp.Literal.string(d.isoformat()),
                                                              exp.Literal.string("YYYY-MM-DD")])
        return _cast(exp.Literal.string(d.isoformat()), exp.DataType.Type.DATE)

    def timestamp_literal(self, ts: dt.datetime):
        match self.t.timestamps:
            case "text":
                return exp.Literal.string(timestamp_text(ts))
            case "utc_datetime":
                wall = utc_instant(ts).replace(tzinfo=None).isoformat(sep=" ")
                return exp.Cast(this=exp.Literal.string(wall), to=_DATETIME6.copy())
            case "micros":
                return _micros_instant(_number(str(epoch_micros(ts))))
        match self.t.datetime_literals:
            case "format":
                # Every digit written, so the one format reads every instant.
                text = utc_instant(ts).strftime("%Y-%m-%d %H:%M:%S.%f +00:00")
                return exp.Anonymous(this="TO_TIMESTAMP_TZ", expressions=[
                    exp.Literal.string(text), exp.Literal.string("YYYY-MM-DD HH24:MI:SS.FF6 TZH:TZM")])
            case "cast_micros":
                text = utc_instant(ts).isoformat(sep=" ")
                return exp.Cast(this=exp.Literal.string(text), to=_TIMESTAMPTZ6.copy())
        text = utc_instant(ts).isoformat(sep=" ")
        return _cast(exp.Literal.string(text), exp.DataType.Type.TIMESTAMPTZ)

    def text_column(self, f: Field):
        col = self.column(f)
        if self.t.binary_text and f.kind in (Kind.TEXT, Kind.ENUM):
            return exp.Collate(this=col, expression=exp.Var(this="utf8mb4_bin"))
        return col

    def code_point_order(self, f: Field, e):
        """``e``, a value of ``f``, in a form that sorts text by code point on this target."""
        if f.kind not in (Kind.TEXT, Kind.ENUM):
            return e
        if self.t.code_point_collation is not None:
            return exp.Collate(this=e, expression=exp.Identifier(this=self.t.code_point_collation, quoted=True))
        # A binary string sorts by its UTF-8 bytes: code point order.
        return self.exact(f, e)

    def exact(self, f: Field, e):
        """A text operand of an equality, compared byte for byte where the engine's
        binary collation still pads: MariaDB's utf8mb4_bin finds 'a' = 'a '."""
        if self.t.binary_text and f.kind in (Kind.TEXT, Kind.ENUM):
            return exp.Cast(this=e, to=exp.DataType(this=exp.DataType.Type.BINARY, nested=False))
        return e

    # -- text

    def fold(self, e):
        match self.t.ascii_lower:
            case "translate":
                return exp.Anonymous(this="TRANSLATE", expressions=[
                    e, exp.Literal.string(ASCII_UPPER), exp.Literal.string(ASCII_LOWER)])
            case "lower":
                return exp.Lower(this=e)
        for up, low in zip(ASCII_UPPER, ASCII_LOWER):
            e = exp.Anonymous(this="REPLACE", expressions=[e, exp.Literal.string(up), exp.Literal.string(low)])
        return e

    def text_match(self, node: ir.TextMatch):
        text = fold_ascii(node.text) if node.ignore_case else node.text
        if not text:
            # Every text contains, starts and ends with the empty one (engines disagree on
            # where they find it, and on a substring past the end).
            col = self.column(node.field)
            return exp.Paren(this=exp.Or(this=exp.Not(this=exp.Is(this=col, expression=exp.Null())),
                                         expression=exp.Null()))
        needle = self.value(node.field, text)
        col = self.text_column(node.field)
        # Folding maps each ASCII letter to one letter, so it keeps lengths and commutes
        # with SUBSTRING: a prefix or suffix is cut first and only it is folded.
        def folded(e):
            return self.fold(e) if node.ignore_case else e

        n = exp.Literal.number(len(text))
        match node.kind:
            case "contains":
                return exp.GT(this=exp.StrPosition(this=folded(col), substr=needle), expression=exp.Literal.number(0))
            case "starts":
                piece = exp.Substring(this=col, start=exp.Literal.number(1), length=n)
                f = node.field
                return exp.EQ(this=self.exact(f, folded(piece)), expression=self.exact(f, needle))
        length = exp.Length(this=col.copy())
        # A suffix of one or more characters: from the length less its own, plus one.
        start = length if len(text) == 1 else exp.Sub(this=length, expression=exp.Literal.number(len(text) - 1))
        piece = folded(exp.Substring(this=col, start=start))
        return exp.EQ(this=self.exact(node.field, piece), expression=self.exact(node.field, needle))

    # -- tags

    def tag_match(self, node: ir.TagMatch):
        """``has`` / ``has any`` / ``has all`` with the engine's own array functions (never
        sqlglot's array predicates, which it writes as Postgres's ``&&`` and ``@>`` on
        engines that have neither). A NULL list makes every form unknown."""
        col = self.column(node.field)
        if self.t.tags is not None and not self.t.null_tags and node.field.nullable:
            raise Unsupported(
                error("E0403", f"{self.t.dialect} stores a NULL tag list as an empty one, so `{node.field.name}` "
                      "(nullable) cannot keep NULL apart from []", node.span,
                      help=f"declare `{node.field.name}` with `nullable = false` if it never holds NULL, "
                      "or compile for another target")
            )
        values = [self.value(node.field, v) for v in node.values]
        match self.t.tags:
            case "array":
                arr = exp.Array(expressions=values)
                if node.kind == "any":
                    return exp.ArrayOverlaps(this=col, expression=arr)
                return exp.ArrayContainsAll(this=col, expression=arr)
            case "mysql_json":
                array = exp.Anonymous(this="JSON_ARRAY", expressions=values)
                name = "JSON_OVERLAPS" if node.kind == "any" else "JSON_CONTAINS"
                return exp.Anonymous(this=name, expressions=[col, array])
            case "functions":
                arr = exp.Array(expressions=values)
                if node.kind == "any":
                    return exp.Anonymous(this="ARRAYS_OVERLAP", expressions=[col, arr])
                # Every wanted tag is in the list; a NULL list makes ARRAY_CONTAINS, and the test, unknown.
                tag = exp.to_identifier("segdsl_tag", quoted=True)
                contains = exp.Anonymous(this="ARRAY_CONTAINS", expressions=[col, exp.Column(this=tag.copy())])
                return exp.Anonymous(this="FORALL", expressions=[arr, exp.Lambda(this=contains, expressions=[tag])])
            case "array_functions":
                arr = exp.Array(expressions=values)
                if node.kind == "any":
                    return exp.Anonymous(this="arrays_overlap", expressions=[col, arr])
                missing = exp.Anonymous(this="array_except", expressions=[arr, col])
                return exp.EQ(this=exp.Anonymous(this="cardinality", expressions=[missing]),
                              expression=exp.Literal.number(0))
            case "variant_array":
                if node.kind == "any":
                    return exp.Anonymous(this="ARRAYS_OVERLAP", expressions=[
                        col, exp.Anonymous(this="ARRAY_CONSTRUCT", expressions=values)])
                tests = [exp.Anonymous(this="ARRAY_CONTAINS", expressions=[
                    exp.Cast(this=v, to=exp.DataType.build("VARIANT", dialect="snowflake")), col.copy()])
                    for v in values]
                return tests[0] if len(tests) == 1 else exp.Paren(this=self.connect(True, tests))
            case "json" | "unnest":
                value = exp.Column(this=exp.to_identifier("value", quoted=True))
                if self.t.tags == "json":
                    each = exp.Table(this=exp.Anonymous(this="json_each", expressions=[col.copy()]))
                else:
                    each = exp.Unnest(expressions=[col.copy()], offset=False,
                                      alias=exp.TableAlias(columns=[exp.to_identifier("value", quoted=True)]))
                matching = exp.In(this=value, expressions=values)
                if node.kind == "all":
                    counted = exp.Select(expressions=[exp.Count(this=exp.Distinct(expressions=[value.copy()]))],
                                         from_=exp.From(this=each), where=exp.Where(this=matching))
                    test = exp.EQ(this=exp.Subquery(this=counted), expression=exp.Literal.number(len(values)))
                else:
                    test = exp.Exists(this=exp.Select(expressions=[exp.Literal.number(1)], from_=exp.From(this=each),
                                                      where=exp.Where(this=matching)))
                # A NULL list makes the test unknown, as on the array engines.
                return exp.Case(
                    ifs=[exp.If(this=exp.Is(this=col, expression=exp.Null()), true=exp.Null())], default=test
                )
        raise Unsupported(
            error("E0403", f"{self.t.dialect}: tag-list predicates are not supported on this target", node.span,
                  help="tag lists compile for postgres, duckdb, sqlite, mysql/mariadb, spark, bigquery, snowflake and trino")
        )

    # -- time

    def day_cmp(self, node: ir.DayCmp):
        """The column against the bounds of the days where ``date(field) op day`` is
        TRUE (:func:`~segdsl.ir.semantics.day_windows`), never a function of the column,
        so an index on it applies. A date is its own day: it is compared with the day."""
        field, op = node.field, node.op
        timestamp = field.kind is Kind.TIMESTAMP
        n = day_ordinal(node.day, self.today)
        if n is None:
            # The database clock: the windows relative to the rule's day.
            windows = DAY_WINDOWS[op]

            def bound(at: int):
                return self.clock_day((node.day.offset or 0) + at, timestamp, node.span)
        else:
            windows = day_windows(op, n)
            if windows == NO_DAY or windows == EVERY_DAY:
                return _constant_for(field, windows == EVERY_DAY)

            def bound(at: int):
                d = day_bound(at, False)
                return self.timestamp_literal(day_start(d)) if timestamp else self.date_literal(d)
        col = self.column(field)
        if not timestamp:
            return _OPS[op](col, bound(0 if n is None else n))
        # A timestamp's date is its UTC date: compare the column with day starts.
        parts = []
        for lo, hi in windows:
            bounds = []
            if lo is not None:
                bounds.append(exp.GTE(this=col.copy(), expression=bound(lo)))
            if hi is not None:
                bounds.append(exp.LT(this=col.copy(), expression=bound(hi)))
            parts.append(bounds[0] if len(bounds) == 1 else exp.And(this=bounds[0], expression=bounds[1]))
        if len(parts) == 1:
            return parts[0]
        return exp.Paren(this=exp.Or(this=parts[0], expression=parts[1]))

    def instant_cmp(self, node: ir.InstantCmp):
        """The timestamp column against the as-of instant minus whole hours
        (:func:`~segdsl.ir.semantics.hours_before`), or the database clock's."""
        field, op = node.field, node.op
        if self.as_of is None:
            return _OPS[op](self.column(field), self.clock_instant(node.hours, node.span))
        bound = instant_comparison(op, hours_before(self.as_of, node.hours))
        if isinstance(bound, bool):
            return _constant_for(field, bound)
        return _OPS[bound[0]](self.column(field), self.timestamp_literal(bound[1]))

    def clock_instant(self, hours: int, span):
        """The database clock minus ``hours`` hours, as the engine stores instants."""
        n = exp.Literal.number(hours)
        match self.t.clock:
            case "at_time_zone":
                now = exp.CurrentTimestamp()
                if not hours:
                    return now
                return exp.Paren(this=exp.Sub(this=now, expression=exp.Interval(
                    this=exp.Literal.string(str(hours)), unit=exp.Var(this="HOUR"))))
            case "utc_date":
                now = exp.Anonymous(this="UTC_TIMESTAMP", expressions=[exp.Literal.number(6)])
                return exp.DateSub(this=now, expression=n, unit=exp.Var(this="HOUR")) if hours else now
            case "date_now":
                # The stored text, microseconds included: SQLite's clock has milliseconds.
                modifiers = [exp.Literal.string(f"-{hours} hours")] if hours else []
                text = exp.Anonymous(this="STRFTIME", expressions=[
                    exp.Literal.string("%Y-%m-%d %H:%M:%f"), exp.Literal.string("now"), *modifiers])
                return exp.DPipe(this=text, expression=exp.Literal.string("000"))
            case "current_date_utc":
                now = exp.Anonymous(this="CURRENT_TIMESTAMP")
                return unit_shift(self.t.clock, now, -hours, "HOUR") if hours else now
            case "convert_timezone":
                now = exp.Anonymous(this="CURRENT_TIMESTAMP")
                return unit_shift(self.t.clock, now, -hours, "HOUR") if hours else now
            case "with_timezone":
                now = exp.CurrentTimestamp()
                return unit_shift(self.t.clock, now, -hours, "HOUR") if hours else now
            case "unix_micros":
                if not hours:
                    return exp.CurrentTimestamp()
                return _micros_instant(exp.Sub(this=_clock_micros(), expression=_number(str(hours * HOUR_MICROS))))
        raise Unsupported(
            error("E0401", f"{self.t.dialect}: relative time needs a pinned as-of instant on this target", span,
                  help="pass --as-of (e.g. --as-of 2026-01-31) to compile the bounds as literals")
        )

    def clock_day(self, shift: int, timestamp: bool, span):
        """The database clock's date in UTC plus ``shift`` days, as a date or as its
        first instant in UTC."""
        match self.t.clock:
            case "at_time_zone":
                today = _cast(
                    exp.AtTimeZone(this=exp.CurrentTimestamp(), zone=exp.Literal.string("UTC")), exp.DataType.Type.DATE
                )
                shifted = exp.Add if shift > 0 else exp.Sub
                d = exp.Paren(this=shifted(this=today, expression=exp.Literal.number(abs(shift)))) if shift else today
                if not timestamp:
                    return d
                return exp.AtTimeZone(this=_cast(d, exp.DataType.Type.TIMESTAMP), zone=exp.Literal.string("UTC"))
            case "utc_date":
                d = exp.Anonymous(this="UTC_DATE")
                if shift:
                    d = exp.DateAdd(this=d, expression=exp.Literal.number(shift), unit=exp.Var(this="DAY"))
                return exp.Cast(this=d, to=_DATETIME6.copy()) if timestamp else d
            case "date_now":
                offset = [exp.Literal.string(f"{shift:+d} days")] if shift else []
                d = exp.Anonymous(this="DATE", expressions=[exp.Literal.string("now"), *offset])
                if not timestamp:
                    return d
                # The day's start as the stored text: the date, then midnight's time of day.
                return exp.DPipe(this=d, expression=exp.Literal.string(_MIDNIGHT_TEXT))
            case "current_date_utc":
                d = exp.Anonymous(this="CURRENT_DATE", expressions=[exp.Literal.string("UTC")])
                if shift:
                    d = unit_shift(self.t.clock, d, shift, "DAY")
                if not timestamp:
                    return d
                return exp.Anonymous(this="TIMESTAMP", expressions=[d, exp.Literal.string("UTC")])
            case "convert_timezone":
                # The clock as an instant at offset +00:00: its date, and its day's start
                # (DATE_TRUNC keeps the offset), are UTC's.
                utc = exp.Anonymous(this="CONVERT_TIMEZONE", expressions=[
                    exp.Literal.string("UTC"), exp.Anonymous(this="CURRENT_TIMESTAMP")])
                if timestamp:
                    d = exp.Anonymous(this="DATE_TRUNC", expressions=[exp.Literal.string("DAY"), utc])
                else:
                    d = _cast(utc, exp.DataType.Type.DATE)
                return unit_shift(self.t.clock, d, shift, "DAY") if shift else d
            case "with_timezone":
                d = _cast(exp.AtTimeZone(this=exp.CurrentTimestamp(), zone=exp.Literal.string("UTC")),
                          exp.DataType.Type.DATE)
                if shift:
                    d = unit_shift(self.t.clock, d, shift, "DAY")
                if not timestamp:
                    return d
                # A timestamp without a zone made an instant in UTC, whatever the session's zone.
                return exp.Anonymous(this="with_timezone", expressions=[
                    _cast(d, exp.DataType.Type.TIMESTAMP), exp.Literal.string("UTC")])
            case "unix_micros":
                n = _day_number(_clock_micros())
                if shift:
                    n = (exp.Add if shift > 0 else exp.Sub)(this=n, expression=_number(str(abs(shift))))
                if not timestamp:
                    return _date_of_day(n)
                return _micros_instant(exp.Mul(this=exp.Paren(this=n), expression=_number(str(DAY_MICROS))))
        raise Unsupported(
            error("E0401", f"{self.t.dialect}: relative time needs a pinned as-of instant on this target", span,
                  help="pass --as-of (e.g. --as-of 2026-01-31) to compile the bounds as literals")
        )


@functools.cache
def _dialect(name: str):
    from sqlglot.dialects.dialect import Dialect

    return Dialect.get_or_raise(name)


def _constant_for(field: Field, value: bool):
    """TRUE (or FALSE) for every non-null value of ``field``, unknown for NULL."""
    col = exp.Column(this=exp.to_identifier(field.column, quoted=True))
    if value:
        return exp.Paren(this=exp.Or(this=exp.Not(this=exp.Is(this=col, expression=exp.Null())), expression=exp.Null()))
    return exp.Paren(this=exp.And(this=exp.Is(this=col, expression=exp.Null()), expression=exp.Null()))


def _scale(f: Field) -> int:
    """The places of a number field's stored units (0 for an integer)."""
    return (f.type.scale or 0) if f.kind is Kind.DECIMAL else 0


def _cte(name: str, body):
    # Built directly: Query.with_ would parse the name with sqlglot's parser.
    return exp.CTE(this=body, alias=exp.TableAlias(this=exp.to_identifier(name, quoted=True)))


def _ident(name: str):
    return exp.Identifier(this=name, quoted=True)


def _as(e, name):
    """``e AS "name"``, built directly (sqlglot's alias_ copies ``e`` and parses the name)."""
    return exp.Alias(this=e, alias=exp.Identifier(this=name, quoted=True))


def _col(name: str):
    return exp.Column(this=exp.to_identifier(name, quoted=True))


def _has_control(s: str) -> bool:
    """Whether ``s`` holds a C0 control character or DEL, which sqlglot may write as a
    backslash escape inside a string literal."""
    return any(ord(c) < 32 or ord(c) == 127 for c in s)


def _cast(e, type_: exp.DataType.Type):
    # Building the type directly avoids sqlglot parsing a type name on every call.
    return exp.Cast(this=e, to=exp.DataType(this=type_, nested=False))


_DATETIME6 = exp.DataType.build("DATETIME(6)")
_TIMESTAMPTZ6 = exp.DataType(this=exp.DataType.Type.TIMESTAMPTZ, nested=False,
                             expressions=[exp.DataTypeParam(this=exp.Literal.number(6))])
#: BigQuery's NUMERIC: 38 digits, 9 of them after the point; longer decimals are BIGNUMERIC.
_NUMERIC_DIGITS, _NUMERIC_PLACES = 38, 9
_STRING = exp.DataType.build("STRING", dialect="spark")


def _micros_instant(e):
    """The instant ``e`` microseconds after the epoch (a TIMESTAMP_LTZ on Spark, in any session)."""
    return exp.Anonymous(this="TIMESTAMP_MICROS", expressions=[e])


def _clock_micros():
    """The database clock in microseconds after the epoch: no time zone involved."""
    return exp.Anonymous(this="UNIX_MICROS", expressions=[exp.CurrentTimestamp()])


def _day_number(micros):
    """The UTC day (days after 1970-01-01, floored) of an instant in microseconds:
    ``(u - PMOD(u, D)) DIV D``, exact in integers before 1970 too (DIV truncates)."""
    day = _number(str(DAY_MICROS))
    rest = exp.Anonymous(this="PMOD", expressions=[micros, day])
    return exp.Paren(this=exp.IntDiv(this=exp.Paren(this=exp.Sub(this=micros.copy(), expression=rest)),
                                     expression=day.copy()))


def _date_of_day(n):
    return exp.Anonymous(this="DATE_FROM_UNIX_DATE", expressions=[_cast(n, exp.DataType.Type.INT)])
#: A day's first instant in the text encoding, after its date: " 00:00:00.000000".
_MIDNIGHT_TEXT = timestamp_text(day_start(dt.date(2000, 1, 1)))[len("2000-01-01"):]


def _op(cls):
    def build(a, b):
        return cls(this=a, expression=b)

    return build


_SQL_OPS = {operator.eq: exp.EQ, operator.ne: exp.NEQ, operator.lt: exp.LT, operator.le: exp.LTE,
            operator.gt: exp.GT, operator.ge: exp.GTE}
#: The SQL node for each comparison of :data:`segdsl.ir.semantics.COMPARE`.
_OPS = {op: _op(_SQL_OPS[fn]) for op, fn in COMPARE.items()}

#: The builder method for each IR node class (see Builder.cond).
_COND = {
    ir.And: Builder._connective,
    ir.Or: Builder._connective,
    ir.Not: Builder._not,
    ir.Const: Builder._const,
    ir.Cmp: Builder._cmp,
    ir.InSet: Builder._in_set,
    ir.IsNull: Builder._is_null,
    ir.IsTrue: Builder._is_true,
    ir.TextMatch: Builder.text_match,
    ir.TagMatch: Builder.tag_match,
    ir.DayCmp: Builder.day_cmp,
    ir.InstantCmp: Builder.instant_cmp,
    ir.FieldCmp: Builder._field_cmp,
    ir.Member: Builder._member,
    ir.Rank: Builder._rank,
    ir.Bucket: Builder.bucket,
    ir.Sequence: sequence_sql,
}
