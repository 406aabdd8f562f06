"""What each diagnostic code means, as the documentation explains it.

``docs/diagnostics.md`` is the one place the language's codes are described: its index
gives each code's severity and summary, and a ``### CODE`` section its explanation, an
example and the fix. The codes of JSON import and export (``E05xx``) are tables in
``docs/interchange.md``. The docs ship inside the package (``segdsl/docs``), and
:func:`explain` reads them, so ``segdsl explain E0101`` and the documentation never
disagree.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from segdsl.diagnostics import Severity
from segdsl.frozen import Value, frozen
from segdsl.project.errors import UsageError

_CODE = re.compile(r"\b[EWI]\d{4}\b")
_INDEX_ROW = re.compile(r"^\| \[(?P<code>[EWI]\d{4})\]\(#[a-z0-9]+\) \| (?P<severity>\w+) \| (?P<summary>.*) \|$")
_INTERCHANGE_ROW = re.compile(r"^\| `(?P<code>E05\d\d)` \| (?P<summary>.*) \|$")


@frozen
class Explanation(Value):
    """One code's entry: its severity, its one-line summary from the index, and its
    section of the page (Markdown, without the heading)."""

    code: str
    severity: Severity
    summary: str
    text: str


def explain(code: str) -> Explanation:
    """The explanation of ``code`` (``E0101``, ``w0207`` ...). A code segdsl does not
    have is a :class:`~segdsl.project.errors.UsageError` with the nearest ones."""
    entries = _entries()
    key = code.strip().upper()
    if key not in entries:
        from segdsl.check.suggest import did_you_mean

        hint = did_you_mean(key, entries) or "the codes are listed in docs/diagnostics.md"
        raise UsageError(f"no diagnostic code `{code}`; {hint}", "code")
    return entries[key]


def codes() -> tuple[str, ...]:
    """Every diagnostic code, in the order of the page's index."""
    return tuple(_entries())


def _page(name: str) -> str:
    return resources.files("segdsl").joinpath("docs", name).read_text(encoding="utf-8")


@functools.cache
def _entries() -> dict[str, Explanation]:
    entries = _language_entries(_page("diagnostics.md"))
    for line in _page("interchange.md").split("\n## Diagnostics", 1)[-1].splitlines():
        row = _INTERCHANGE_ROW.match(line)
        if row:
            text = (f"{row['summary'][0].upper()}{row['summary'][1:]}. A diagnostic of `segdsl import` or "
                    "`segdsl export`; see docs/interchange.md for the formats and what cannot be expressed.")
            entries[row["code"]] = Explanation(row["code"], Severity.ERROR, row["summary"], text)
    return entries


def _language_entries(page: str) -> dict[str, Explanation]:
    index: dict[str, tuple[Severity, str]] = {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    fenced = False
    for line in page.splitlines():
        row = _INDEX_ROW.match(line)
        if row:
            index[row["code"]] = (Severity(row["severity"]), row["summary"])
            continue
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (line.startswith("#") or line.strip() == "---"):
            current = None
            if line.startswith("### "):
                current = []
                for found in _CODE.findall(line):
                    sections[found] = current  # a heading naming several codes explains them all
            continue
        if current is not None:
            current.append(line)
    return {
        code: Explanation(code, severity, summary, "\n".join(sections.get(code, [])).strip())
        for code, (severity, summary) in index.items()
    }
