"""Figure `compile`: parse + check + compile one typical rule to Postgres SQL.

Ours, per rule: ``parse_expression`` → ``check_expression`` → ``compile_rule(target=
"postgres", as_of=<pinned>, pretty=False)``. Baseline, per rule, in the same run and
interleaved with ours: ``sqlglot.transpile(sql, read="postgres", write="postgres")`` on
the equivalent hand-written query (``bench.rules``), i.e. what it costs merely to
round-trip SQL of that size through sqlglot. Goal: median ≤ 1 ms per rule (absolute;
the ratio is context). The one-time grammar load is measured in fresh interpreters and
reported apart as "first parse".
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from time import perf_counter_ns as clock

from bench import ROOT
from bench.report import Figure, Goal, Row
from bench.rules import AS_OF, SCHEMA_PATH, Rule, generate
from bench.stats import median, percentile, ratio, us

GOAL_MEDIAN_US = 1000.0
N_RULES = 1000


class BenchError(RuntimeError):
    """The benchmark itself cannot run (as opposed to a goal being missed)."""


def load_schema():
    from segdsl.check.traits import load_schema as _load

    schema, diags = _load(ROOT / SCHEMA_PATH)
    if schema is None or any(d.is_error for d in diags):
        raise BenchError(f"cannot load {SCHEMA_PATH}: {[d.message for d in diags]}")
    return schema


def pipeline(schema):
    """Our per-rule pipeline, returning (parse, check, compile) nanoseconds."""
    from segdsl.check.checker import check_expression
    from segdsl.syntax.parser import parse_expression
    from segdsl.backends.sql import compile_rule

    def run(text: str) -> tuple[int, int, int]:
        t0 = clock()
        parsed = parse_expression(text)
        t1 = clock()
        node, _ = check_expression(parsed.expr, schema)
        t2 = clock()
        compile_rule(node, schema, target="postgres", as_of=AS_OF, pretty=False)
        t3 = clock()
        return t1 - t0, t2 - t1, t3 - t2

    return run


def baseline():
    import sqlglot

    def run(sql: str) -> int:
        t0 = clock()
        sqlglot.transpile(sql, read="postgres", write="postgres")
        return clock() - t0

    return run


def validate(rules: list[Rule], schema) -> None:
    """Every generated rule must go through both pipelines cleanly, or the timings
    would measure error paths. Doubles as the warm-up."""
    import sqlglot

    from segdsl.check.checker import check_expression
    from segdsl.syntax.parser import parse_expression
    from segdsl.backends.sql import compile_rule

    for rule in rules:
        parsed = parse_expression(rule.text)
        if parsed.expr is None:
            raise BenchError(f"generated rule does not parse: {rule.text!r}: {parsed.diagnostics[0].message}")
        node, diags = check_expression(parsed.expr, schema)
        if node is None or diags:
            raise BenchError(f"generated rule does not check cleanly: {rule.text!r}: {[d.message for d in diags]}")
        result = compile_rule(node, schema, target="postgres", as_of=AS_OF, pretty=False)
        if not result.ok:
            raise BenchError(f"generated rule does not compile: {rule.text!r}")
        sqlglot.transpile(rule.sql, read="postgres", write="postgres")


# The one-time costs, in a fresh interpreter each time. lark and sqlglot are imported
# first: their import is the startup figure's business, not this one's.
_FIRST = r"""
import json, sys, datetime as dt
from time import perf_counter_ns as clock
import lark, sqlglot
from segdsl.check.checker import check_expression
from segdsl.syntax.parser import parse_expression
from segdsl.check.traits import load_schema
from segdsl.backends.sql import compile_rule
schema, _ = load_schema(sys.argv[1])
as_of = dt.datetime.fromisoformat(sys.argv[2])
a, b = sys.argv[3], sys.argv[4]
out = {}
for name, text in (("first", a), ("second", b)):
    t0 = clock(); p = parse_expression(text); t1 = clock()
    node, _ = check_expression(p.expr, schema); t2 = clock()
    compile_rule(node, schema, target="postgres", as_of=as_of, pretty=False); t3 = clock()
    out[name] = [t1 - t0, t2 - t1, t3 - t2]
print(json.dumps(out))
"""


def first_calls(rules: list[Rule], runs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"first_parse": [], "first_compile": [], "second_parse": [], "second_compile": []}
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", _FIRST, str(ROOT / SCHEMA_PATH), AS_OF.isoformat(), rules[0].text, rules[1].text],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise BenchError(f"first-parse probe failed:\n{proc.stderr.strip()}")
        out = json.loads(proc.stdout)
        samples["first_parse"].append(out["first"][0])
        samples["first_compile"].append(out["first"][2])
        samples["second_parse"].append(out["second"][0])
        samples["second_compile"].append(out["second"][2])
    return samples


def run(quick: bool = False, log=print) -> Figure:
    rounds = 1 if quick else 5
    probes = 1 if quick else 3
    rules = generate(N_RULES)

    log(f"compile: first-call probe ({probes} fresh interpreter{'s' if probes > 1 else ''})")
    first = first_calls(rules, probes)

    schema = load_schema()
    log("compile: validating and warming up on all rules")
    validate(rules, schema)
    ours, base = pipeline(schema), baseline()

    n = len(rules)
    # samples[i] holds rule i's timings, one per round.
    parse_s = [[] for _ in range(n)]
    check_s = [[] for _ in range(n)]
    comp_s = [[] for _ in range(n)]
    total_s = [[] for _ in range(n)]
    base_s = [[] for _ in range(n)]
    for rnd in range(rounds):
        log(f"compile: round {rnd + 1}/{rounds} ({n} rules, ours and baseline interleaved)")
        gc.collect()
        ours_first = rnd % 2 == 0  # alternate who goes first, so neither always runs warm
        for i, rule in enumerate(rules):
            if ours_first:
                p, c, k = ours(rule.text)
                b = base(rule.sql)
            else:
                b = base(rule.sql)
                p, c, k = ours(rule.text)
            parse_s[i].append(p)
            check_s[i].append(c)
            comp_s[i].append(k)
            total_s[i].append(p + c + k)
            base_s[i].append(b)

    per_rule = [median(s) for s in total_s]
    per_rule_base = [median(s) for s in base_s]
    stage = {
        "parse": [median(s) for s in parse_s],
        "check": [median(s) for s in check_s],
        "compile": [median(s) for s in comp_s],
    }
    stage_sum = {k: sum(v) for k, v in stage.items()}
    grand = sum(stage_sum.values())

    med, p95 = median(per_rule), percentile(per_rule, 95)
    bmed, bp95 = median(per_rule_base), percentile(per_rule_base, 95)
    met = med / 1e3 <= GOAL_MEDIAN_US

    fig = Figure(
        name="compile",
        title=f"parse + check + compile to Postgres SQL, per rule ({n:,} generated rules, "
        f"{rounds} round{'s' if rounds > 1 else ''})",
        baseline="sqlglot.transpile(equivalent hand-written SQL, read='postgres', write='postgres'), same rules, interleaved",
    )
    fig.rows = [
        Row("median per rule", us(med), us(bmed), f"{ratio(med, bmed):.2f}×", f"≤ {GOAL_MEDIAN_US:.0f} µs", met),
        Row("p95 per rule", us(p95), us(bp95), f"{ratio(p95, bp95):.2f}×"),
        Row("first parse (one-time)", us(median(first["first_parse"])), goal="— (context)"),
        Row("first compile (one-time)", us(median(first["first_compile"])), goal="— (context)"),
    ]
    fig.goals = [Goal("median_per_rule", round(med / 1e3, 1), GOAL_MEDIAN_US, "us", met,
                      "absolute median of parse+check+compile per rule")]
    fig.notes = [
        "stage medians: " + " · ".join(f"{k} {us(median(v))}" for k, v in stage.items())
        + "   share of total: " + " · ".join(f"{k} {100 * s / grand:.0f}%" for k, s in stage_sum.items()),
        f"first parse = the first rule through Lark, its grammar loaded from Lark's cache, lark already "
        f"imported (second rule: {us(median(first['second_parse']))});",
        f"first compile = sqlglot dialect set-up + first rule (second rule: {us(median(first['second_compile']))}); "
        f"median of {probes} fresh interpreter{'s' if probes > 1 else ''}.",
    ]
    fig.data = {
        "rules": n,
        "rounds": rounds,
        "seed_rule_0": rules[0].text,
        "as_of": AS_OF.isoformat(),
        "ours_us": {"median": med / 1e3, "p95": p95 / 1e3, "mean": sum(per_rule) / n / 1e3,
                    "min": min(per_rule) / 1e3, "max": max(per_rule) / 1e3},
        "baseline_us": {"median": bmed / 1e3, "p95": bp95 / 1e3, "mean": sum(per_rule_base) / n / 1e3,
                        "min": min(per_rule_base) / 1e3, "max": max(per_rule_base) / 1e3},
        "ratio_median": med / bmed,
        "ratio_p95": p95 / bp95,
        "stage_median_us": {k: median(v) / 1e3 for k, v in stage.items()},
        "stage_share": {k: s / grand for k, s in stage_sum.items()},
        "first_call_us": {k: median(v) / 1e3 for k, v in first.items()},
        "first_call_probes": probes,
        "goal_median_us": GOAL_MEDIAN_US,
    }
    return fig
