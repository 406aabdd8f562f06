"""The 1,000,000-profile datasets the `derive`, `sizing` and `columnar` figures read.

Generated once with the commands a user would run — ``segdsl seed generate --domain
hospitality --scale 1000000`` (or ``--domain golf``) and, with the domain's committed
models, ``segdsl model score`` (so ``churn_risk_score`` and ``engagement_score`` have
values) — into ``bench/results/data/`` (git-ignored), and reused while its parameters
stay the same.
The directory carries a ``manifest.json``; a directory without one (an interrupted
run) is regenerated. If ``src/segdsl/data/synth.py`` changed since the data was written, the
figures say so; delete the directory to regenerate.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import RESULTS, ROOT
from bench.compile_time import BenchError

DOMAIN = "hospitality"
DEFAULT_SCALE = 1_000_000
#: The scale the data figures read; `python -m bench --scale N` sets it (10,000,000 for the big tier).
SCALE = DEFAULT_SCALE
SEED = 7
AS_OF = "2026-11-01"
DOMAINS = ("hospitality", "golf")
SYNTH = ROOT / "src" / "segdsl" / "data" / "synth.py"


QUICK_SCALE = 100_000  # --quick: a smoke run on a tenth of the data


def project(domain: str = DOMAIN) -> Path:
    return ROOT / "examples" / domain


def models(domain: str = DOMAIN) -> Path:
    return ROOT / "seeds" / domain / "models"  # the committed models


PROJECT, MODELS = project(), models()  # the hospitality set's, as before domains


def _params(scale: int, domain: str) -> dict:
    return {"domain": domain, "scale": scale, "seed": SEED, "as_of": AS_OF, "models_sha256": _digest(models(domain))}


def data_dir(scale: int = SCALE, domain: str = DOMAIN) -> Path:
    return RESULTS / "data" / f"{domain}-{scale}-seed{SEED}-{AS_OF}"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if p.is_file():
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def _segdsl(args: list[str], log) -> None:
    script = Path(sys.executable).parent / "segdsl"
    cmd = [str(script) if script.exists() else "segdsl", *args]
    log("data: $ segdsl " + " ".join(args))
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"`segdsl {' '.join(args)}` exited {proc.returncode}:\n{proc.stderr.strip()[-2000:]}")


def ensure(scale: int = SCALE, log=print, domain: str = DOMAIN) -> tuple[Path, dict]:
    """The dataset's directory and manifest, generating it first if needed."""
    if domain not in DOMAINS:
        raise BenchError(f"unknown domain {domain!r}; choose from {', '.join(DOMAINS)}")
    out = data_dir(scale, domain)
    manifest_path = out / "manifest.json"
    params = _params(scale, domain)
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("params") == params:
            if manifest.get("synth_sha256") != _digest(SYNTH):
                manifest["note"] = (f"src/segdsl/data/synth.py changed since {out.relative_to(ROOT)} was generated; "
                                    "delete the directory to regenerate")
            return out, manifest
    log(f"data: generating {scale:,} {domain} profiles into {out.relative_to(ROOT)} (once; a few minutes)")
    started = time.perf_counter()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    _segdsl(["seed", "generate", "--domain", domain, "--scale", str(scale), "--seed", str(SEED),
             "--as-of", AS_OF, "--out", str(tmp), "--jobs", "0", "--no-progress"], log)
    folder = tmp / domain
    shutil.copytree(models(domain), folder / "models")
    _segdsl(["model", "score", str(project(domain)), "--data", str(folder), "--as-of", AS_OF], log)
    rows = {p.stem: _rows(p) for p in sorted(folder.glob("*.csv"))}
    shutil.rmtree(out, ignore_errors=True)
    folder.rename(out)
    shutil.rmtree(tmp, ignore_errors=True)
    manifest = {"params": params, "synth_sha256": _digest(SYNTH), "rows": rows,
                "generated_in_s": round(time.perf_counter() - started, 1)}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    log(f"data: done in {manifest['generated_in_s']:.0f} s: "
        + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    return out, manifest


def _rows(path: Path) -> int:
    with path.open("rb") as f:
        return sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20), b"")) - 1


if __name__ == "__main__":
    # python -m bench.bigdata [SCALE] [DOMAIN]
    d, m = ensure(int(sys.argv[1]) if len(sys.argv) > 1 else SCALE, log=lambda s: print(s, file=sys.stderr, flush=True),
                  domain=sys.argv[2] if len(sys.argv) > 2 else DOMAIN)
    print(d, json.dumps(m, indent=2))
