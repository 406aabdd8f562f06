"""Lint configuration: `[lint]` in segdsl.toml and `# segdsl: ignore[CODE]` comments;
I0210 is opt-in. Run end to end, as `segdsl check` shows them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEGDSL = shutil.which("segdsl", path=str(Path(sys.executable).parent)) or "segdsl"
SCHEMA = (ROOT / "examples" / "hospitality" / "schema.toml").read_text()

# W0207 on `a` and `c` (negation leaves out nulls); a, b and c are used by no journey (I0210).
SEGMENTS = """\
segment a { where not (email_opt_in) }
segment b { where ltv > 1 }
segment c { where not (email_opt_in) and ltv > 2 }
segment d { where ltv > 3 }
journey j { audience in segment d and email_opt_in send email "hi" goal converted within 7 days }
"""


def _project(tmp_path: Path, lint: str = "", text: str = SEGMENTS) -> Path:
    (tmp_path / "schema.toml").write_text(SCHEMA)
    (tmp_path / "segdsl.toml").write_text('schema = "schema.toml"\n' + lint)
    (tmp_path / "s.seg").write_text(text)
    return tmp_path


def _codes(cwd: Path, code: int = 0) -> list[tuple[str, int]]:
    proc = subprocess.run([SEGDSL, "check", "--format", "json"], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == code, proc.stdout + proc.stderr
    return [(d["code"], d["location"]["line"]) for d in json.loads(proc.stdout)["diagnostics"]]


def test_warnings_shown_and_i0210_opt_in(tmp_path):
    found = _codes(_project(tmp_path))
    assert ("W0207", 1) in found and ("W0207", 3) in found
    assert not any(c == "I0210" for c, _ in found)


def test_lint_enable_and_ignore(tmp_path):
    found = _codes(_project(tmp_path, '[lint]\nenable = ["I0210"]\n'))
    assert ("I0210", 2) in found
    found = _codes(_project(tmp_path, '[lint]\nignore = ["w0207"]\nenable = ["I0210"]\n'))
    assert {c for c, _ in found} == {"I0210"}


def test_ignore_comment_per_segment_and_per_file(tmp_path):
    per_segment = SEGMENTS.replace("segment a {", "# segdsl: ignore[W0207]\nsegment a {")
    found = _codes(_project(tmp_path, text=per_segment))
    assert ("W0207", 4) in found and ("W0207", 2) not in found  # only `a` is quiet; `c` is on line 4
    inside = SEGMENTS.replace("segment c { where", "segment c {  # segdsl: ignore[W0207]\n where")
    assert [line for c, line in _codes(_project(tmp_path, text=inside)) if c == "W0207"] == [1]
    per_file = "# segdsl: ignore[W0207]\n\n" + SEGMENTS
    assert not any(c == "W0207" for c, _ in _codes(_project(tmp_path, text=per_file)))


def test_errors_cannot_be_ignored(tmp_path):
    text = "# segdsl: ignore[E0101]\n\nsegment a { where nosuch > 1 }\n"
    assert _codes(_project(tmp_path, text=text), code=1) == [("E0101", 3)]
    proc = subprocess.run([SEGDSL, "check"], cwd=_project(tmp_path, '[lint]\nignore = ["E0101", "W9999"]\n'),
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "`E0101` in [lint] ignore is an error" in proc.stdout
    assert "`W9999` in [lint] ignore is no diagnostic code" in proc.stdout
