"""``.seg`` files on disk: finding them under the paths a user names, and formatting a
file's bytes in the canonical layout (``segdsl fmt``), keeping its byte-order mark."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from segdsl.diagnostics import Diagnostic, error
from segdsl.frozen import Value, frozen
from segdsl.syntax.span import Span

_BOM = b"\xef\xbb\xbf"


@frozen
class FormattedFile(Value):
    """A file in the canonical layout: its text ``before`` and ``after`` and the bytes
    to write (``data``), or the diagnostics that kept it from being formatted (then
    ``before`` is the decoded text when there is one, to render them with)."""

    path: str
    before: str | None
    after: str | None = None
    data: bytes | None = None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.after is not None and not self.diagnostics

    @property
    def changed(self) -> bool:
        return self.ok and self.after != self.before


def find_seg_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Diagnostic], list[tuple[Path, Path]]]:
    """The ``.seg`` files named, or found under the directories named (hidden ones
    skipped), in a stable order without repeats; an ``E0004`` for every name that does
    not exist or cannot be read; and, as ``(link, target)``, the symbolic links found
    under a directory that lead out of it, which are left out: a command given a tree
    changes nothing outside it (a link named on its own is followed)."""
    files: dict[Path, None] = {}
    problems = []
    outside: list[tuple[Path, Path]] = []
    for name in paths:
        name = str(name)
        path = Path(name)
        if path.is_dir():
            try:
                found_all = sorted(path.rglob("*.seg"))
            except OSError as exc:
                problems.append(error("E0004", f"cannot read `{name}`: {exc.strerror or exc}", Span(name, 0, 0)))
                continue
            root = path.resolve()
            found_all = [f for f in found_all
                         if f.is_file() and not any(part.startswith(".") for part in f.relative_to(path).parts)]
            plain = {f.resolve() for f in found_all if not f.is_symlink()}
            for found in found_all:
                real = found.resolve()
                if not real.is_relative_to(root):
                    outside.append((found, real))
                elif not (found.is_symlink() and real in plain):  # else: that file is in the list itself
                    files.setdefault(found, None)
        elif path.exists() or path.is_symlink():
            files.setdefault(path, None)
        else:
            problems.append(error("E0004", f"file `{name}` does not exist", Span(name, 0, 0)))
    return list(files), problems, outside


def format_file(path: str | Path, shown: str | None = None) -> FormattedFile:
    """The file at ``path`` in the canonical layout (nothing is written). ``shown`` is
    the name diagnostics give it (default: the path as given)."""
    shown = str(path) if shown is None else shown
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return FormattedFile(shown, None, diagnostics=(error("E0004", f"file `{shown}` does not exist",
                                                             Span(shown, 0, 0)),))
    except OSError as exc:
        return FormattedFile(shown, None, diagnostics=(error("E0004", f"cannot read `{shown}`: {exc.strerror or exc}",
                                                             Span(shown, 0, 0)),))
    return format_bytes(data, shown)


def format_bytes(data: bytes, shown: str) -> FormattedFile:
    """A ``.seg`` file's raw bytes in the canonical layout; a byte-order mark is kept."""
    from segdsl.syntax.formatter import format_source
    from segdsl.syntax.source import MAX_SOURCE_BYTES, decode_source

    src, diags = decode_source(shown, data)
    if diags or src is None:
        return FormattedFile(shown, src.text if src is not None else None, diagnostics=tuple(diags))
    bom = _BOM if data.startswith(_BOM) else b""
    new, diags = format_source(src.text, shown, MAX_SOURCE_BYTES - len(bom))
    if new is None:
        return FormattedFile(shown, src.text, diagnostics=tuple(diags))
    if diags:  # E0090: the formatter left the file alone
        return FormattedFile(shown, None, diagnostics=tuple(diags))
    return FormattedFile(shown, src.text, new, bom + new.encode("utf-8"))
