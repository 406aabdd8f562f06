"""Figure `row`: evaluating rules on one profile dict at a time — the path a single CRM
event takes (``segdsl.backends.memory.row.compile_row``).

Workload: the 3,000 committed seed guests (``seeds/hospitality``), profiled as of
2026-11-01 by ``segdsl.backends.memory.profile.load_profile``, as the dicts ``Table.records()`` yields
(stored and derived fields as plain values). Rules: the 13 example segments and 8 more
of the kinds the `compile` figure generates (text, tags, dates, ``or``, ``not``, NULLs).

Ours, per rule: the function ``compile_row`` returns. Baselines, on the same dicts, in
the same run:

* a hand-written Python lambda per rule, with SQL's NULL semantics (a comparison with
  None is unknown, so not a member) and the schema's nullability in mind;
* rule-engine (PyPI ``rule-engine``, installed for the benchmark only), one ``Rule`` per
  rule, written with explicit ``!= null`` guards so it means the same.

Before timing, every baseline must select exactly our members for every rule, or the
figure fails. Goals: ours ≤ 1.5× the lambdas, and rule-engine ≥ 50× slower than ours
(sums over all rules of the median time per profile).
"""

from __future__ import annotations

import datetime as dt
import gc
import os
from collections import deque
from collections.abc import Callable
from pathlib import Path
from statistics import median
from time import perf_counter_ns as clock
from typing import Any, NamedTuple

from bench import ROOT
from bench.compile_time import BenchError
from bench.report import Figure, Goal, Row
from bench.stats import ratio

GOAL_LAMBDA = 1.5  # ours ÷ lambda, at most
GOAL_RULE_ENGINE = 50.0  # rule-engine ÷ ours, at least

AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
_DAY = AS_OF.date()


def _midnight(days: int) -> dt.datetime:
    """UTC midnight starting the day ``days`` after the as-of date."""
    return dt.datetime.combine(_DAY + dt.timedelta(days=days), dt.time(), dt.UTC)


# Day bounds, as a person would precompute them once per as-of date.
TOMORROW = _midnight(1)  # `within N days` ends with the as-of day
YEAR_AGO = _midnight(-365)  # `within 365 days`: on or after this day
LAPSED = _midnight(-179)  # `days_since >= 180`: the stay's date is on or before as-of − 180
RECENT_90 = _midnight(-90)  # `days_since <= 90`: on or after as-of − 90
SIGNUP_180 = _DAY - dt.timedelta(days=180)  # a date field: `within 180 days`

GOLD = frozenset({"Gold", "Platinum"})
METROS = frozenset({"Mumbai", "Delhi", "Bengaluru"})
BOARD = frozenset({1001, 1002, 1003})


def _lapsed(r) -> bool:
    return (t := r["last_booking_at"]) is not None and t < LAPSED


def _re_ts(t: dt.datetime) -> str:
    return f"d'{t.strftime('%Y-%m-%dT%H:%M:%SZ')}'"


def _re_date(d: dt.date) -> str:
    return f"d'{d.isoformat()}T00:00:00Z'"


_RE_LAPSED = f"(last_booking_at != null and last_booking_at < {_re_ts(LAPSED)})"
_RE_365 = f"last_booking_at != null and last_booking_at >= {_re_ts(YEAR_AGO)} and last_booking_at < {_re_ts(TOMORROW)}"


class Rule(NamedTuple):
    name: str
    dsl: str  # the rule's text; empty for an example segment, whose checked rule is used
    hand: Callable[[dict], Any]
    rule_engine: str
    segment: bool = False  # ``name`` is a segment of the example files


# Non-nullable fields (status, interests, ltv, counts) are read without a None test, as
# someone who knows the schema writes them; nullable ones are tested first.
RULES = [
    Rule("high_value", "", lambda r: r["ltv"] >= 150_000
         and (t := r["last_booking_at"]) is not None and YEAR_AGO <= t < TOMORROW,
         f"ltv >= 150000 and {_RE_365}", True),
    Rule("lapsed", "", _lapsed, _RE_LAPSED, True),
    Rule("win_back", "", lambda r: (t := r["last_booking_at"]) is not None and t < LAPSED
         and r["ltv"] >= 50_000 and r["email_opt_in"] is True,
         f"{_RE_LAPSED} and ltv >= 50000 and email_opt_in == true", True),
    Rule("frequent_bookers", "", lambda r: r["total_bookings"] >= 6
         and (t := r["last_booking_at"]) is not None and t >= RECENT_90,
         f"total_bookings >= 6 and last_booking_at != null and last_booking_at >= {_re_ts(RECENT_90)}", True),
    Rule("spa_lovers", "", lambda r: ("spa" in (i := r["interests"]) or "wellness" in i) and not _lapsed(r),
         f"('spa' in interests or 'wellness' in interests) and not {_RE_LAPSED}", True),
    Rule("gmail_gold", "", lambda r: r["loyalty_tier"] in GOLD
         and (e := r["email"]) is not None and e.lower().endswith("@gmail.com"),
         "loyalty_tier in ['Gold', 'Platinum'] and email != null and email.as_lower.ends_with('@gmail.com')", True),
    Rule("board_members", "", lambda r: r["guest_id"] in BOARD, "guest_id in [1001, 1002, 1003]", True),
    Rule("likely_to_churn", "", lambda r: (c := r["churn_risk_score"]) is not None and c >= 70
         and r["status"] == "ACTIVE" and (t := r["last_booking_at"]) is not None and YEAR_AGO <= t < TOMORROW,
         f"churn_risk_score != null and churn_risk_score >= 70 and status == 'ACTIVE' and {_RE_365}", True),
    Rule("all_customers", "", lambda r: r["status"] == "ACTIVE", "status == 'ACTIVE'", True),
    Rule("active_members", "", lambda r: r["status"] == "ACTIVE"
         and (t := r["last_booking_at"]) is not None and YEAR_AGO <= t < TOMORROW,
         f"status == 'ACTIVE' and {_RE_365}", True),
    Rule("high_engagement", "", lambda r: (e := r["engagement_score"]) is not None and e >= 70,
         "engagement_score != null and engagement_score >= 70", True),
    Rule("at_risk", "", lambda r: (c := r["churn_risk_score"]) is not None and c >= 70,
         "churn_risk_score != null and churn_risk_score >= 70", True),
    Rule("email_subscribers", "", lambda r: r["email_opt_in"] is True and r["email"] is not None,
         "email_opt_in == true and email != null", True),
    # Rules of the kinds the `compile` figure generates.
    Rule("metro_mid_value", 'home_city in ["Mumbai", "Delhi", "Bengaluru"] and ltv between 20_000 and 80_000',
         lambda r: r["home_city"] in METROS and 20_000 <= r["ltv"] <= 80_000,
         "home_city in ['Mumbai', 'Delhi', 'Bengaluru'] and ltv >= 20000 and ltv <= 80000"),
    Rule("upgraded_sms", 'loyalty_tier != "Blue" and sms_opt_in',
         lambda r: (t := r["loyalty_tier"]) is not None and t != "Blue" and r["sms_opt_in"] is True,
         "loyalty_tier != null and loyalty_tier != 'Blue' and sms_opt_in == true"),
    Rule("phone_or_yahoo", 'phone starts with "+9198" or email contains "yahoo"',
         lambda r: ((p := r["phone"]) is not None and p.startswith("+9198"))
         or ((e := r["email"]) is not None and "yahoo" in e),
         "(phone != null and phone.starts_with('+9198')) or (email != null and 'yahoo' in email)"),
    Rule("new_unasked", "signup_date within 180 days and preferred_channel is null",
         lambda r: SIGNUP_180 <= r["signup_date"] <= _DAY and r["preferred_channel"] is None,
         f"signup_date >= {_re_date(SIGNUP_180)} and signup_date <= {_re_date(_DAY)} and preferred_channel == null"),
    Rule("long_stay_leisure", 'not (interests has any ["business", "golf"]) and total_nights >= 10',
         lambda r: "business" not in (i := r["interests"]) and "golf" not in i and r["total_nights"] >= 10,
         "not ('business' in interests or 'golf' in interests) and total_nights >= 10"),
    Rule("engaged_low_risk", "engagement_90d >= 3 and push_opt_in and not (churn_risk_score >= 50)",
         lambda r: r["engagement_90d"] >= 3 and r["push_opt_in"] is True
         and (c := r["churn_risk_score"]) is not None and c < 50,
         "engagement_90d >= 3 and push_opt_in == true and churn_risk_score != null and churn_risk_score < 50"),
    Rule("points_or_regular", "loyalty_points > 5_000 or bookings_365d >= 3",
         lambda r: r["loyalty_points"] > 5_000 or r["bookings_365d"] >= 3,
         "loyalty_points > 5000 or bookings_365d >= 3"),
    Rule("a_names_unsubscribed", 'first_name starts with "a" ignoring case and email_opt_in = false',
         lambda r: r["first_name"][:1] in ("a", "A") and r["email_opt_in"] is False,
         "first_name.as_lower.starts_with('a') and email_opt_in == false"),
]


def _checked_rules(ws) -> list:
    """Each rule checked into IR: the example segments' own rules, the rest parsed."""
    from segdsl.check.checker import check_expression
    from segdsl.syntax.parser import parse_expression

    out = []
    for rule in RULES:
        if rule.segment:
            seg = ws.segments.get(rule.name)
            if seg is None:
                raise BenchError(f"no example segment `{rule.name}`")
            out.append(seg.rule)
            continue
        parsed = parse_expression(rule.dsl)
        if parsed.expr is None:
            raise BenchError(f"rule {rule.name} does not parse")
        node, diags = check_expression(parsed.expr, ws.schema, ws.segments)
        if node is None:
            raise BenchError(f"rule {rule.name} does not check: {diags[0].message}")
        out.append(node)
    return out


def _ns(x: float) -> str:
    return f"{x:,.0f} ns" if x < 10_000 else f"{x / 1e3:,.1f} µs"


CHUNK = 200  # profiles per timed sample: about 20-60 µs, short enough to dodge most preemption


def _time(fn, records) -> int:
    """Nanoseconds for ``fn`` on each of ``records``, one call per profile."""
    consume = deque(maxlen=0).extend
    t0 = clock()
    consume(map(fn, records))
    return clock() - t0


def _per_profile(samples: list[list[int]], n: int) -> float:
    """Samples[chunk][round] → ns per profile: each chunk's median over the rounds,
    summed over the chunks, divided by the profiles."""
    return sum(median(s) for s in samples) / n


def run(quick: bool = False, log=print) -> Figure:
    from bench.workload import SEGMENT_FILES, workspace
    from segdsl.backends.memory.row import compile_row
    from segdsl.backends.memory.profile import load_profile

    try:
        import rule_engine
    except ImportError:
        rule_engine = None

    ws = workspace()
    nodes = _checked_rules(ws)
    log("row: profiling the seed guests as of 2026-11-01 (untimed)")
    table = load_profile(ws.schema, ROOT / "seeds" / "hospitality", nodes, AS_OF)
    records = table.records()
    n = len(records)

    sides: dict[str, dict[str, Callable]] = {
        "segdsl": {r.name: compile_row(node, AS_OF) for r, node in zip(RULES, nodes)},
        "lambda": {r.name: r.hand for r in RULES},
    }
    inputs = {"segdsl": records, "lambda": records}
    if rule_engine is not None:
        # rule-engine has no frozenset type: its copies of the dicts carry tags as sets.
        inputs["rule-engine"] = [{k: set(v) if isinstance(v, frozenset) else v for k, v in rec.items()}
                                 for rec in records]
        sides["rule-engine"] = {r.name: rule_engine.Rule(r.rule_engine).matches for r in RULES}

    # Every side must select exactly our members; this pass is the warm-up too.
    members = {side: {name: [bool(f(rec)) for rec in inputs[side]] for name, f in fns.items()}
               for side, fns in sides.items()}
    sizes = {name: sum(m) for name, m in members["segdsl"].items()}
    for side in sides:
        bad = [name for name in sizes if members[side][name] != members["segdsl"][name]]
        if bad:
            raise BenchError(f"{side} selects other members than segdsl for: {', '.join(bad)}")
    empty = [name for name, k in sizes.items() if k in (0, n)]
    if empty:
        raise BenchError(f"rules select no guest or every guest: {', '.join(empty)}")

    rounds = 9 if quick else 41
    re_rounds = 1 if quick else 3
    log(f"row: {len(RULES)} rules × {n:,} profiles in chunks of {CHUNK}; {rounds} rounds of segdsl and "
        "lambda, interleaved chunk by chunk" + (f"; {re_rounds} of rule-engine" if rule_engine else ""))
    chunks = {side: [recs[i:i + CHUNK] for i in range(0, n, CHUNK)] for side, recs in inputs.items()}
    load_before = os.getloadavg()[0]
    times = {side: {r.name: [[] for _ in range(len(chunks["segdsl"]))] for r in RULES} for side in sides}
    gc.collect()
    for i in range(rounds):
        pair = ("segdsl", "lambda") if i % 2 == 0 else ("lambda", "segdsl")
        for name in sizes:
            for c in range(len(chunks["segdsl"])):
                for side in pair:
                    times[side][name][c].append(_time(sides[side][name], chunks[side][c]))
    if rule_engine is not None:
        for _ in range(re_rounds):
            for name in sizes:
                for c, chunk in enumerate(chunks["rule-engine"]):
                    times["rule-engine"][name][c].append(_time(sides["rule-engine"][name], chunk))

    per = {side: {k: _per_profile(v, n) for k, v in t.items()} for side, t in times.items()}
    total = {side: sum(d.values()) for side, d in per.items()}
    ours = total["segdsl"]
    r_lam = ratio(ours, total["lambda"])
    met_lam = r_lam <= GOAL_LAMBDA
    fig = Figure(
        name="row",
        title=f"{len(RULES)} rules on one profile dict at a time, over {n:,} seed profiles; "
              f"time per profile for all rules, median of {rounds} rounds",
        baseline="hand-written Python lambdas with SQL NULL semantics"
                 + (f"; rule-engine {_version('rule-engine')} rules with explicit null guards" if rule_engine else ""),
    )
    fig.rows = [Row("all rules vs lambdas", _ns(ours), _ns(total["lambda"]), f"{r_lam:.2f}×",
                    f"≤ {GOAL_LAMBDA:.1f}×", met_lam)]
    fig.goals = [Goal("row_vs_lambda", round(r_lam, 3), GOAL_LAMBDA, "ratio", met_lam,
                      f"segdsl {ours:.0f} ns vs lambda {total['lambda']:.0f} ns per profile, all rules")]
    if rule_engine is not None:
        speedup = total["rule-engine"] / ours
        met_re = speedup >= GOAL_RULE_ENGINE
        fig.rows.append(Row("all rules vs rule-engine", _ns(ours), _ns(total["rule-engine"]),
                            f"{ratio(ours, total['rule-engine']):.3f}× ({speedup:,.0f}× faster)",
                            f"≥ {GOAL_RULE_ENGINE:.0f}× faster", met_re))
        fig.goals.append(Goal("row_vs_rule_engine", round(speedup, 1), GOAL_RULE_ENGINE,
                              "speed-up (at least)", met_re,
                              f"segdsl {ours:.0f} ns vs rule-engine {total['rule-engine']:.0f} ns per profile"))
    for name in sorted(sizes, key=lambda k: -per["segdsl"][k] / per["lambda"][k]):
        fig.rows.append(Row(f"  {name} ({sizes[name]:,})", _ns(per["segdsl"][name]), _ns(per["lambda"][name]),
                            f"{ratio(per['segdsl'][name], per['lambda'][name]):.2f}×"))
    fig.notes = [
        "per-rule rows (worst ratio first) compare with the lambdas; member counts in parentheses; "
        "every side selected identical members",
        f"rules: the example segments of {' and '.join(Path(p).name for p in SEGMENT_FILES)} and "
        f"{sum(not r.segment for r in RULES)} generated-style rules (bench/row_eval.py)",
        (f"1-min load average before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
         f"on {os.cpu_count()} CPUs"),
    ]
    if rule_engine is None:
        fig.notes.append("rule-engine baseline skipped: rule-engine is not installed (pip install rule-engine)")
    fig.data = {
        "profiles": n, "chunk": CHUNK, "rounds": rounds, "rule_engine_rounds": re_rounds if rule_engine else 0,
        "sizes": sizes,
        "total_ns_per_profile": total,
        "per_rule_ns_per_profile": per,
        "goals": {"lambda": GOAL_LAMBDA, "rule_engine": GOAL_RULE_ENGINE},
    }
    return fig


def _version(pkg: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "?"
