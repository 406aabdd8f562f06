"""``python -m bench profile-memory``: where the in-memory paths of the `derive` and
`sizing` figures spend their time, on the same 1,000,000-guest data (``--quick``: the
100,000-guest data).

* derive: the time of ``build_profile`` per trait (each trait alone, minus a build of
  no traits; alone, a trait also pays for its source's row mapping and its filter,
  which a build of all the traits shares), then cProfile over one ``build_profile`` of
  all the traits;
* sizing: cProfile over ``evaluate`` of every example segment.

Prints the top functions by own and by cumulative time, and writes
``bench/results/profile-memory.txt`` plus ``profile-derive.prof`` and
``profile-sizing.prof`` (for ``python -m pstats`` or snakeviz). The CSV load is not
profiled. cProfile sees numpy calls as single built-ins, which is what we want here:
the question is which array operations (or Python loops) cost the time.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from statistics import median
from time import perf_counter

from bench import RESULTS, bigdata
from bench.profile_compile import _fn
from bench.workload import AS_OF, segments, sources_needed, traits, workspace


def _top(prof: cProfile.Profile, out, label: str, top: int = 15) -> None:
    st = pstats.Stats(prof)
    total = st.total_tt
    print(f"\n== {label}: {total:.3f} s under cProfile", file=out)
    for title, idx in (("own", 2), ("cumulative", 3)):
        print(f"  top functions by {title} time:{'':<26} calls      own s      cum s", file=out)
        rows = sorted(st.stats.items(), key=lambda kv: -kv[1][idx])[:top]
        for key, (_cc, nc, tt, ct, _callers) in rows:
            print(f"    {_fn(key)[:62]:<62} {nc:8d} {tt:10.3f} {ct:10.3f}", file=out)


def run(quick: bool = False, log=print) -> int:
    from segdsl.data.tables import load_table
    from segdsl.backends.memory.columnar import evaluate
    from segdsl.backends.memory.profile import build_profile, load_source

    data, _ = bigdata.ensure(bigdata.QUICK_SCALE if quick else bigdata.SCALE, log=log)
    ws = workspace()
    schema, fields, segs = ws.schema, traits(ws), segments(ws)
    log(f"profile-memory: loading {data.name} (untimed)")
    entity = load_table(schema, data)
    sources = {n: load_source(schema.sources[n], data) for n in sources_needed(fields)}
    out = io.StringIO()
    print(f"in-memory paths on {entity.n_rows:,} guests "
          f"({', '.join(f'{schema.sources[n].table} {t.n_rows:,}' for n, t in sources.items())})", file=out)

    log("profile-memory: build_profile per trait")

    def timed(fs, reps=3):
        samples = []
        for _ in range(reps):
            t0 = perf_counter()
            build_profile(schema, entity, sources, fs, AS_OF)
            samples.append(perf_counter() - t0)
        return median(samples)

    base = timed([])
    whole = timed(fields)
    print(f"\nbuild_profile, all {len(fields)} traits: {whole:.3f} s (of which a build of no traits "
          f"{base:.3f} s)", file=out)
    print("  per trait (each alone, minus that shared part):", file=out)
    for f in fields:
        t = timed([f]) - base
        print(f"    {f.name:<18} {f.derive.fn:<7} {schema.sources[f.derive.source].table:<18} {t:7.3f} s  "
              f"{100 * t / whole:5.1f}%", file=out)

    log("profile-memory: cProfile of build_profile")
    prof_d = cProfile.Profile()
    prof_d.enable()
    table = build_profile(schema, entity, sources, fields, AS_OF)
    prof_d.disable()
    _top(prof_d, out, "derive: build_profile, all traits")

    log("profile-memory: cProfile of evaluate, every example segment")
    for s in segs:  # warm-up
        evaluate(s.rule, table, AS_OF)
    per = {}
    prof_s = cProfile.Profile()
    for s in segs:
        t0 = perf_counter()
        prof_s.enable()
        evaluate(s.rule, table, AS_OF).sum()
        prof_s.disable()
        per[s.name] = perf_counter() - t0
    print(f"\nsizing: evaluate, {len(segs)} segments under cProfile: "
          + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in sorted(per.items(), key=lambda kv: -kv[1])), file=out)
    _top(prof_s, out, "sizing: evaluate, every segment")

    text = out.getvalue()
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "profile-memory.txt").write_text(text, encoding="utf-8")
    prof_d.dump_stats(str(RESULTS / "profile-derive.prof"))
    prof_s.dump_stats(str(RESULTS / "profile-sizing.prof"))
    log(f"profile-memory: wrote {RESULTS / 'profile-memory.txt'}, profile-derive.prof, profile-sizing.prof")
    return 0
