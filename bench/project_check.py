"""Figures `project` and `lsp`: checking a large project, and the editor's diagnostics.

`project`: ``segdsl check`` on a generated project of 1,000 segments (the `compile`
figure's 1,000 typical rules, one per segment, every tenth also referring to two
earlier segments), as a subprocess, wall time. Baseline, in the same run and
interleaved: ``python -c 'import lark, sqlglot'``, the floor of any segdsl command.
Goal: median ≤ 1.5 s.

`lsp`: the language server (``python -m segdsl.lsp``) driven over stdio by pygls'
client, as an editor drives it: a generated 1,000-line file is opened, then edits
spread over it each introduce or remove an error, and each edit is timed from
``didChange`` to the ``publishDiagnostics`` of its version. Baseline, in the same run:
Lark alone parsing the whole file (what re-reading the buffer costs at the least).
Goal: median ≤ 100 ms.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import ROOT
from bench.compile_time import BenchError
from bench.report import Figure, Goal, Row
from bench.rules import SCHEMA_PATH, generate
from bench.startup import _ENV, _wall, segdsl_script
from bench.stats import median, percentile, ratio

PROJECT_GOAL_S = 1.5
LSP_GOAL_MS = 100.0
N_SEGMENTS = 1000


def write_project(folder: Path, n: int = N_SEGMENTS) -> Path:
    """A project of ``n`` segments over the hospitality schema; returns the .seg file."""
    shutil.copy(ROOT / SCHEMA_PATH, folder / "schema.toml")
    (folder / "segdsl.toml").write_text('schema = "schema.toml"\n', encoding="utf-8")
    rnd = random.Random(11)
    parts = []
    for i, rule in enumerate(generate(n)):
        where = rule.text
        if i >= 10 and i % 10 == 0:
            a, b = rnd.randrange(i), rnd.randrange(i)
            where = f"({where}) and (in segment s{a} or not in segment s{b})"
        parts.append(f"segment s{i} {{\n    where {where}\n}}\n")
    path = folder / "segments.seg"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def run_project(quick: bool = False, log=print) -> Figure:
    runs = 3 if quick else 11
    script = segdsl_script()
    base_cmd = [sys.executable, "-c", "import lark, sqlglot"]
    with tempfile.TemporaryDirectory(prefix="segdsl-project-") as tmp:
        seg = write_project(Path(tmp))
        cmd = [script, "check", str(seg)]
        proc = subprocess.run(cmd, env=_ENV, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BenchError(f"the generated project does not check cleanly:\n{proc.stdout[-2000:]}{proc.stderr}")
        log(f"project: `segdsl check` on {N_SEGMENTS:,} segments, {runs} interleaved runs against the baseline")
        ours, base = [], []
        for i in range(runs):
            first, second = (cmd, base_cmd) if i % 2 == 0 else (base_cmd, cmd)
            a, b = _wall(first), _wall(second)
            (ours if first is cmd else base).append(a)
            (base if first is cmd else ours).append(b)
        lines = seg.read_text(encoding="utf-8").count("\n")
    med, bmed = median(ours), median(base)
    met = med / 1e9 <= PROJECT_GOAL_S
    fig = Figure(
        name="project",
        title=f"`segdsl check` on a generated project of {N_SEGMENTS:,} segments ({lines:,} lines), wall time",
        baseline="python -c 'import lark, sqlglot' (same Python), runs interleaved with ours",
    )
    fig.rows = [
        Row("wall time (median)", f"{med / 1e9:.2f} s", f"{bmed / 1e9:.2f} s", f"{ratio(med, bmed):.2f}×",
            f"≤ {PROJECT_GOAL_S} s", met),
        Row("wall time (p95)", f"{percentile(ours, 95) / 1e9:.2f} s"),
    ]
    fig.goals = [Goal("check_wall", round(med / 1e9, 3), PROJECT_GOAL_S, "s", met,
                      f"median wall time of `segdsl check` on {N_SEGMENTS} segments")]
    fig.data = {"segments": N_SEGMENTS, "lines": lines, "ours_s": [t / 1e9 for t in ours],
                "baseline_s": [t / 1e9 for t in base]}
    return fig


# ------------------------------------------------------------------------- lsp


def _lsp_file() -> str:
    """About 1,000 lines: the tests' latency file (tests/test_lsp.py) has the same shape."""
    rnd = random.Random(7)
    rules = [rule.text for rule in generate(200)]
    out = ["# Generated: a large file of audiences.\n\n"]
    for i in range(160):
        rule = rules[i]
        if i and i % 5 == 0:
            rule = f"({rule}) and not in segment seg_{rnd.randrange(i)}"
        out.append(f'segment seg_{i} "Audience {i}" {{\n    description "Generated audience number {i}"\n'
                   f'    refresh {rnd.choice(["daily", "weekly", "hourly"])}\n    where {rule}\n}}\n\n')
    return "".join(out)


async def _drive(folder: Path, text: str, edits: int) -> list[float]:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("segdsl-bench", "1")
    arrivals: dict[int, float] = {}
    event = asyncio.Event()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        if params.version is not None:
            arrivals.setdefault(params.version, time.perf_counter())
            event.set()

    async def wait_for(version: int) -> float:
        deadline = time.monotonic() + 30
        while version not in arrivals:
            event.clear()
            if time.monotonic() > deadline:
                raise BenchError(f"the server published no diagnostics for version {version}")
            try:
                await asyncio.wait_for(event.wait(), 1)
            except TimeoutError:
                pass
        return arrivals[version]

    await client.start_io(sys.executable, "-m", "segdsl.lsp")
    try:
        await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=folder.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=folder.as_uri(), name="bench")]))
        client.initialized(types.InitializedParams())
        uri = (folder / "big.seg").as_uri()
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="segdsl", version=1, text=text)))
        await wait_for(1)
        lines = text.split("\n")
        where_lines = [i for i, line in enumerate(lines) if line.startswith("    where ")]
        col = len("    where ")
        timings = []
        for k in range(edits):
            line = where_lines[(k * 37) % len(where_lines)]
            version = k + 2
            insert = "bogus_field > 1 and " if k % 2 == 0 else "ltv > 1 and "
            start = time.perf_counter()
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(line, col), types.Position(line, col)), text=insert)]))
            timings.append((await wait_for(version) - start) * 1000)
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()
    return timings


def run_lsp(quick: bool = False, log=print) -> Figure:
    edits = 11 if quick else 41
    text = _lsp_file()
    with tempfile.TemporaryDirectory(prefix="segdsl-lsp-") as tmp:
        folder = Path(tmp)
        shutil.copy(ROOT / SCHEMA_PATH, folder / "schema.toml")
        (folder / "segdsl.toml").write_text('schema = "schema.toml"\n', encoding="utf-8")
        (folder / "big.seg").write_text(text, encoding="utf-8")
        log(f"lsp: {edits} edits on a {text.count(chr(10)):,}-line file, didChange → publishDiagnostics")
        timings = asyncio.run(_drive(folder, text, edits))

    from importlib.resources import files

    from lark import Lark

    grammar = (files("segdsl.syntax") / "grammar" / "segdsl.lark").read_text(encoding="utf-8")
    lark = Lark(grammar, parser="lalr", lexer="contextual", start="module", propagate_positions=True)
    base = []
    for _ in range(7 if quick else 21):
        t0 = time.perf_counter()
        lark.parse(text)
        base.append((time.perf_counter() - t0) * 1000)
    med, bmed = median(timings), median(base)
    met = med <= LSP_GOAL_MS
    fig = Figure(
        name="lsp",
        title=f"language server: didChange → publishDiagnostics on a {text.count(chr(10)):,}-line file",
        baseline="Lark alone parsing the whole file (LALR, positions kept), same run",
    )
    fig.rows = [
        Row("per edit (median)", f"{med:.1f} ms", f"{bmed:.1f} ms", f"{ratio(med, bmed):.2f}×",
            f"≤ {LSP_GOAL_MS:.0f} ms", met),
        Row("per edit (p95)", f"{percentile(timings, 95):.1f} ms"),
    ]
    fig.goals = [Goal("diagnostics_median", round(med, 1), LSP_GOAL_MS, "ms", met,
                      "median didChange → publishDiagnostics")]
    fig.data = {"edits_ms": timings, "baseline_ms": base}
    return fig
