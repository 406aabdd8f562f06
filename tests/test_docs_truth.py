"""What the docs state is what segdsl does: each statement here is checked by running it."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import segdsl
from segdsl.syntax.keywords import KEYWORDS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SEGDSL = shutil.which("segdsl", path=str(Path(sys.executable).parent)) or "segdsl"


def _emitted() -> set[str]:
    emitted = set()
    for path in (ROOT / "src" / "segdsl").rglob("*.py"):
        emitted |= set(re.findall(r"[\"']([EWI]\d{4})[\"']", path.read_text(encoding="utf-8")))
    return emitted


def test_every_documented_code_exists_and_every_code_is_documented():
    documented = set(segdsl.codes())
    emitted = _emitted()
    assert not emitted - documented, f"codes with no entry in the docs: {sorted(emitted - documented)}"
    assert not documented - emitted, f"documented codes segdsl never emits: {sorted(documented - emitted)}"
    page = (DOCS / "diagnostics.md").read_text()
    index = set(re.findall(r"^\| \[([EWI]\d{4})\]", page, re.M))
    sections = {code for heading in re.findall(r"^### ([EWI]\d{4}(?:, [EWI]\d{4})*)$", page, re.M)
                for code in heading.split(", ")}
    assert index == sections, (sorted(index - sections), sorted(sections - index))


def test_the_keyword_list_is_the_languages():
    page = (DOCS / "language.md").read_text()
    block = page.split("**Keywords** are lower-case and reserved", 1)[1].split("```", 2)[1]
    assert set(block.split()) == KEYWORDS


def test_the_size_example_is_real():
    page = (DOCS / "cli.md").read_text()
    block = page.split("## `segdsl size`", 1)[1].split("```", 2)[1].strip("\n")
    command, *expected = block.splitlines()
    args = shlex.split(command.removeprefix("$ "))
    out = subprocess.run([SEGDSL, *args[1:]], cwd=ROOT / "examples" / "hospitality", capture_output=True,
                         text=True, check=True).stdout
    assert out.splitlines() == expected


def test_email_opt_in_is_described_as_the_schema_has_it():
    schema = segdsl.load_schema(ROOT / "examples" / "hospitality" / "schema.toml").schema
    page = (DOCS / "language.md").read_text()
    f = schema.fields["email_opt_in"]
    assert f.nullable and f.derive_text  # a trait, and nullable
    assert "`email_opt_in` a\nnon-nullable" not in page and "`email_opt_in` and\n`sms_opt_in` nullable `bool` traits" in page


def test_day_limits_in_the_docs_are_the_checkers():
    from segdsl.check.predicates import MAX_DAYS

    for name in ("language.md", "diagnostics.md"):
        text = (DOCS / name).read_text()
        assert "3,000,000" not in text
    assert f"{MAX_DAYS:,}" in (DOCS / "language.md").read_text()
    proc = subprocess.run([SEGDSL, "check", "-e", f"days_since(signup_date) > {MAX_DAYS + 1}"],
                          cwd=ROOT / "examples" / "hospitality", capture_output=True, text=True)
    assert "E0118" in proc.stdout
    proc = subprocess.run([SEGDSL, "check", "-e", f"days_since(signup_date) > {MAX_DAYS}"],
                          cwd=ROOT / "examples" / "hospitality", capture_output=True, text=True)
    assert proc.returncode == 0


def test_sqlite_decimals_are_described_as_scaled_integers():
    for name in ("diagnostics.md", "schema.md"):
        assert "decimals as doubles" not in (DOCS / name).read_text()


def test_journeys_are_in_the_language_page_and_no_page_points_elsewhere_for_them():
    page = (DOCS / "language.md").read_text()
    assert "declarations and nothing else" not in page
    assert "[Journeys](#journeys)" in page and 'journey     = "journey"' in page and "aggregate   =" in page
    help_text = subprocess.run([SEGDSL, "journey", "--help"], capture_output=True, text=True).stdout
    assert "lifecycle.md" not in help_text and "language.md" in help_text
    cli = (DOCS / "cli.md").read_text()
    assert "| `segdsl journey run` |" in cli and "language.md#journeys" in cli
    assert "### `segdsl plan`" in (DOCS / "lifecycle.md").read_text()


def test_every_heading_in_a_contents_list_exists():
    for name in ("language.md", "schema.md"):
        text = (DOCS / name).read_text()
        contents = text.split("## Contents", 1)[1].split("\n## ", 1)[0]
        anchors = re.findall(r"\]\(#([a-z0-9-]+)\)", contents)
        headings = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
                    for h in re.findall(r"^#{2,3} (.+)$", text, re.M)}
        assert anchors and set(anchors) <= headings, (name, set(anchors) - headings)
        top = [re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
               for h in re.findall(r"^## (.+)$", text, re.M) if h != "Contents"]
        assert [a for a in anchors if a in top] == top, (name, top)
