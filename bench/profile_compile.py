"""``python -m bench profile``: cProfile over the compile figure's rules, one profiler
per stage (parse / check / compile), so each stage's hotspots are its own.

Prints, per stage, its share of the profiled time, where that time goes by package
(lark, sqlglot, segdsl modules, attrs, stdlib), and the top functions by own time and
by cumulative time. Writes the text to ``bench/results/profile.txt`` and one pstats
file per stage (``profile-<stage>.prof``, for snakeviz or ``python -m pstats``).
cProfile inflates code that makes many small calls, so read shares, not absolutes.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from collections import defaultdict

from bench import RESULTS
from bench.compile_time import N_RULES, load_schema, validate
from bench.rules import AS_OF, generate

STAGES = ("parse", "check", "compile")


def _area(filename: str) -> str:
    """Which package a profiled function belongs to."""
    f = filename.replace("\\", "/")
    if "/segdsl/" in f:
        return "segdsl." + f.rsplit("/segdsl/", 1)[1].removesuffix(".py").replace("/", ".")
    for pkg in ("lark", "sqlglot", "attrs", "attr"):
        if f"/site-packages/{pkg}/" in f:
            return "attrs" if pkg == "attr" else pkg
    if f.startswith("~") or f == "<built-in>":
        return "builtins"
    if "<attrs generated" in f or "<string>" in f:
        return "attrs (generated)"
    return "stdlib/other"


def _fn(key) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    short = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/src/"):
        if marker in short:
            short = short.rsplit(marker, 1)[1]
            break
    else:
        short = short.rsplit("/", 1)[-1]
    return f"{short}:{line}({name})"


def profile(rounds: int = 1) -> dict[str, cProfile.Profile]:
    from segdsl.check.checker import check_expression
    from segdsl.syntax.parser import parse_expression
    from segdsl.backends.sql import compile_rule

    rules = generate(N_RULES)
    schema = load_schema()
    validate(rules, schema)  # warm-up: the one-time grammar load stays out of the profile
    profs = {s: cProfile.Profile() for s in STAGES}
    pp, pc, pk = (profs[s] for s in STAGES)
    for _ in range(rounds):
        for rule in rules:
            pp.enable()
            parsed = parse_expression(rule.text)
            pp.disable()
            pc.enable()
            node, _ = check_expression(parsed.expr, schema)
            pc.disable()
            pk.enable()
            compile_rule(node, schema, target="postgres", as_of=AS_OF, pretty=False)
            pk.disable()
    return profs


def report(profs: dict[str, cProfile.Profile], top: int = 12) -> str:
    out = io.StringIO()
    stats = {s: pstats.Stats(p) for s, p in profs.items()}
    totals = {s: st.total_tt for s, st in stats.items()}
    grand = sum(totals.values())
    print(f"cProfile over {N_RULES:,} rules (times include profiler overhead; compare shares)", file=out)
    print("stage     total     share   per rule", file=out)
    for s in STAGES:
        print(f"{s:<9} {totals[s]:6.3f} s  {100 * totals[s] / grand:5.1f}%  {1e6 * totals[s] / N_RULES:7.0f} µs",
              file=out)
    for s in STAGES:
        st = stats[s]
        print(f"\n== {s}: {totals[s]:.3f} s ({100 * totals[s] / grand:.0f}% of profiled time)", file=out)
        by_area: dict[str, float] = defaultdict(float)
        for key, (_cc, _nc, tt, _ct, _callers) in st.stats.items():
            by_area[_area(key[0])] += tt
        print("  own time by package:", file=out)
        for area, tt in sorted(by_area.items(), key=lambda kv: -kv[1])[:8]:
            print(f"    {100 * tt / totals[s]:5.1f}%  {area}", file=out)
        rows = sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:top]
        print("  top functions by own time:            calls/rule   own µs/rule   cum µs/rule", file=out)
        for key, (_cc, nc, tt, ct, _callers) in rows:
            print(f"    {_fn(key)[:60]:<60} {nc / N_RULES:7.1f} {1e6 * tt / N_RULES:12.1f} {1e6 * ct / N_RULES:12.1f}",
                  file=out)
        rows = sorted(st.stats.items(), key=lambda kv: -kv[1][3])[:top]
        print("  top functions by cumulative time:     calls/rule   own µs/rule   cum µs/rule", file=out)
        for key, (_cc, nc, tt, ct, _callers) in rows:
            print(f"    {_fn(key)[:60]:<60} {nc / N_RULES:7.1f} {1e6 * tt / N_RULES:12.1f} {1e6 * ct / N_RULES:12.1f}",
                  file=out)
    return out.getvalue()


def run(log=print) -> int:
    log(f"profile: cProfile over {N_RULES:,} rules, one profiler per stage")
    profs = profile()
    text = report(profs)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "profile.txt").write_text(text, encoding="utf-8")
    for s, p in profs.items():
        p.dump_stats(str(RESULTS / f"profile-{s}.prof"))
    log(f"profile: wrote {RESULTS / 'profile.txt'} and profile-<stage>.prof")
    return 0
