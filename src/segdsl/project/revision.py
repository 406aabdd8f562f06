"""A project as it was at a git revision: its `.seg` files and schema read with
``git show REV:path``, never checked out, and checked as one workspace.

Nothing is written: not the work tree, not the index, not a temporary checkout.
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import attrs

from segdsl import ir
from segdsl.diagnostics import Diagnostic
from segdsl.project.errors import UsageError
from segdsl.schema.model import Schema


@attrs.frozen
class Revision:
    """The project's checked segments at ``commit`` (what ``rev`` named)."""

    rev: str
    commit: str
    schema: Schema | None
    segments: dict[str, ir.Segment]
    #: Each segment's file, relative to the project's root.
    files: dict[str, str]
    diagnostics: tuple[Diagnostic, ...] = ()


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed, so --base cannot read another revision", "base") from None


def read_revision(root: Path, schema_path: Path, rev: str) -> Revision:
    """The project at ``root`` as of the git revision ``rev`` (a branch, tag, commit,
    ``origin/main``, ``HEAD~1`` ...). A project outside a git work tree, or a revision
    git does not know, is a :class:`UsageError`."""
    from segdsl.check.checker import check_modules
    from segdsl.check.traits import schema_from_dict
    from segdsl.syntax.parser import parse_bytes

    root = root.resolve()
    top = _git(root, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise UsageError(f"{root} is not in a git repository, so there is no revision to compare with", "base")
    if rev.startswith("-"):
        raise UsageError(f"`{rev}` is not a revision", "base")
    found = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if found.returncode != 0:
        raise UsageError(f"unknown revision `{rev}` in {top.stdout.decode().strip()}; name a branch, tag or "
                         "commit (`git log --oneline` lists them)", "base")
    commit = found.stdout.decode().strip()
    top_dir = Path(top.stdout.decode().strip()).resolve()
    prefix = root.relative_to(top_dir).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    # From the top: ls-tree reads paths relative to where it runs.
    listed = _git(top_dir, "ls-tree", "-r", "-z", "--name-only", commit, "--", prefix or ".")
    paths = [p for p in listed.stdout.decode("utf-8", "surrogateescape").split("\0")
             if p.endswith(".seg") and not any(part.startswith(".") for part in p[len(prefix):].split("/"))]

    def show(path: str) -> bytes | None:
        shown = _git(top_dir, "show", f"{commit}:{path}")
        return shown.stdout if shown.returncode == 0 else None

    schema_file = schema_path.resolve()
    schema, diagnostics = None, []
    text = show(prefix + schema_file.relative_to(root).as_posix()) if schema_file.is_relative_to(root) else None
    if text is None:  # no schema at the revision (or one outside the project): today's
        from segdsl.check.traits import load_schema

        schema, diagnostics = load_schema(schema_file)
    else:
        try:
            schema, diagnostics = schema_from_dict(tomllib.loads(text.decode("utf-8")), f"{rev}:{schema_file.name}")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"the schema at `{rev}` cannot be read: {exc}", "base") from None
    modules, files = [], {}
    for path in sorted(paths):
        data = show(path)
        if data is None:
            continue
        shown = f"{rev}:{path[len(prefix):]}"
        parsed = parse_bytes(shown, data)
        diagnostics += parsed.diagnostics
        if parsed.module is not None:
            modules.append(parsed.module)
            for seg in parsed.module.segments:
                files[seg.name] = path[len(prefix):]
    segments: dict[str, ir.Segment] = {}
    if schema is not None:
        checked = check_modules(modules, schema)
        diagnostics += checked.diagnostics
        segments = dict(checked.segments)
    return Revision(rev, commit, schema, segments, files, tuple(diagnostics))


__all__ = ["Revision", "read_revision"]
