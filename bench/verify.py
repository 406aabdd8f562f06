"""``python -m bench verify``: proof that the compile baseline is fair — on Postgres,
each generated rule's hand-written SQL (the baseline's input) selects exactly the
members our compiled SQL selects, on the hospitality seed data.

Works in a private schema (``segdsl_bench_<pid>``) that it drops afterwards, so it
never touches tables other people use. The hand-written SQL runs under a non-UTC
session time zone, to show it does not lean on the session's clock settings.
"""

from __future__ import annotations

import os

import attrs

from bench import ROOT
from bench.compile_time import N_RULES, BenchError, load_schema
from bench.rules import AS_OF, generate

DEFAULT_DSN = "postgresql://postgres@127.0.0.1/postgres"


def run(dsn: str | None, log=print) -> int:
    from segdsl.check.checker import check_expression
    from segdsl.data.tables import load_table
    from segdsl.data.engines import EngineError, connect, fetch_keys, load_records
    from segdsl.data.loading import load_project
    from segdsl.backends.memory.profile import build_profile, load_source
    from segdsl.syntax.parser import parse_expression
    from segdsl.backends.sql import compile_rule

    dsn = dsn or os.environ.get("SEGDSL_TEST_DSN") or DEFAULT_DSN
    schema = load_schema()
    rules = generate(N_RULES)
    try:
        engine = connect(dsn)
    except EngineError as exc:
        raise BenchError(str(exc)) from None
    ns = f"segdsl_bench_{os.getpid()}"
    mismatches = 0
    sizes = []
    try:
        engine.execute(f'CREATE SCHEMA "{ns}"')
        engine.execute(f'SET search_path TO "{ns}"')
        engine.commit()
        # Our SQL computes the traits from the raw tables (its profile CTE); the
        # hand-written SQL reads a guest_profile table materialised from the in-memory
        # profile. Agreement checks the compiler and the numpy derivation at once.
        data = ROOT / "seeds" / "hospitality"
        entity = load_table(schema, data)
        sources = {name: load_source(src, data, missing_ok=True) for name, src in schema.sources.items()}
        load_project(engine, schema, {schema.table: entity.records(),
                                      **{s.schema.table: s.records() for s in sources.values()}})
        derived = [f for f in schema.fields.values() if f.derive is not None]
        profile = build_profile(schema, entity, sources, derived, AS_OF)
        records = profile.records()
        for r in records:
            r["lifetime_value"] = r.pop("ltv")
        fields = dict(profile.schema.fields)
        fields["ltv"] = attrs.evolve(fields["ltv"], column="lifetime_value")
        load_records(engine, attrs.evolve(profile.schema, table="guest_profile", fields=fields, sources={}), records)
        n_rows = profile.n_rows
        log(f"verify: loaded the raw seed tables and a {n_rows:,}-row guest_profile into schema {ns}; "
            f"comparing {len(rules):,} rules")
        for i, rule in enumerate(rules):
            node, _ = check_expression(parse_expression(rule.text).expr, schema)
            ours = fetch_keys(engine, compile_rule(node, schema, target="postgres", as_of=AS_OF).sql)
            engine.execute("SET TIME ZONE 'Asia/Kolkata'")
            try:
                theirs = fetch_keys(engine, rule.sql)
            finally:
                engine.execute("SET TIME ZONE 'UTC'")
            sizes.append(len(ours))
            if ours != theirs:
                mismatches += 1
                if mismatches <= 10:
                    print(f"rule {i}: {rule.text}\n  ours {len(ours)} members, hand-written {len(theirs)}\n  {rule.sql}")
    finally:
        try:
            engine.conn.rollback()
            engine.execute(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')
            engine.commit()
        finally:
            engine.close()
    selective = sum(1 for s in sizes if 0 < s < n_rows)
    print(f"{len(rules) - mismatches} of {len(rules)} rules: hand-written SQL selects the same members as ours "
          f"({selective} rules select a proper, non-empty subset of the {n_rows:,} guests; "
          f"median size {sorted(sizes)[len(sizes) // 2]})")
    return 1 if mismatches else 0
