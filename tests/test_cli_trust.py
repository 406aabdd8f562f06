"""End to end: everyday command-line use behaves as it says (dialect names, database
addresses, readable output), run as the installed `segdsl` script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEGDSL = shutil.which("segdsl", path=str(Path(sys.executable).parent)) or "segdsl"
HOSPITALITY = ROOT / "examples" / "hospitality"


def run(*args: str, cwd: Path = ROOT, code: int | None = 0, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    proc = subprocess.run([SEGDSL, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    assert "Traceback" not in proc.stderr, proc.stderr
    if code is not None:
        assert proc.returncode == code, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


# ------------------------------------------------------------------ --target


@pytest.mark.parametrize(("alias", "quote"), [("mssql", "["), ("sqlserver", "["), ("SQLServer", "["),
                                              ("postgresql", '"'), ("mariadb", "`"), ("tsql", "[")])
def test_target_accepts_sqlglot_names_and_common_aliases(alias, quote):
    out = run("compile", "-e", "ltv > 5", "--target", alias, cwd=HOSPITALITY).stdout
    assert f"{quote}ltv" in out


def test_target_alias_compiles_as_its_dialect():
    a = run("compile", "-e", "ltv > 5", "--target", "mssql", cwd=HOSPITALITY).stdout
    b = run("compile", "-e", "ltv > 5", "--target", "tsql", cwd=HOSPITALITY).stdout
    assert a == b


def test_unknown_target_suggests_a_real_dialect():
    err = run("compile", "-e", "ltv > 5", "--target", "sqlservr", cwd=HOSPITALITY, code=2).stderr
    assert "unknown dialect `sqlservr`; did you mean `tsql`?" in err
    err = run("compile", "-e", "ltv > 5", "--target", "xyzzy", cwd=HOSPITALITY, code=2).stderr
    assert "choose from:" in err and "tsql" in err and "postgres" in err


# ------------------------------------------------------------------ --dsn


def test_unknown_dsn_scheme_names_the_supported_ones():
    err = run("size", "segments.seg", "--dsn", "foo:bar", cwd=HOSPITALITY, code=1).stderr
    assert "unknown database scheme `foo:`" in err
    assert "missing" not in err
    for scheme in ("postgresql://", "mysql://", "mariadb://", "duckdb:PATH", "sqlite:PATH"):
        assert scheme in err
    err = run("size", "segments.seg", "--dsn", "postgress://u@h/db", cwd=HOSPITALITY, code=1).stderr
    assert "did you mean `postgres`?" in err


@pytest.mark.parametrize("command", [("size",), ("db", "load")])
def test_dsn_help_lists_every_scheme(command):
    from segdsl.data.dsn import DSN_SCHEMES

    out = run(*command, "--help").stdout
    flat = " ".join(out.split())
    for scheme in DSN_SCHEMES:
        assert f"{scheme}:" in flat, scheme


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_tables_not_loaded_names_db_load_and_creates_no_file(tmp_path, engine):
    path = tmp_path / f"crm.{engine}"
    err = run("size", "segments.seg", "--dsn", f"{engine}:{path}", cwd=HOSPITALITY, code=1).stderr
    assert "segdsl db load" in err
    assert not path.exists()


def test_empty_duckdb_database_says_tables_are_not_loaded(tmp_path):
    import duckdb

    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    err = run("size", "segments.seg", "--dsn", f"duckdb:{path}", cwd=HOSPITALITY, code=1).stderr
    assert "none of the project's tables" in err and "segdsl db load" in err


# ------------------------------------------------------------------ --overlap


def test_overlap_header_is_readable_at_small_numbers():
    out = run("size", "segments.seg", "-s", "board_members", "-s", "gmail_gold", "--overlap",
              "--as-of", "2026-11-01", cwd=HOSPITALITY).stdout
    header = next(line for line in out.splitlines() if "(1)" in line and "(2)" in line and "board" not in line)
    assert "(1)  (2)" in header or "(1)   (2)" in header
    assert ")(" not in out


# ------------------------------------------------------------------ help texts


def test_a_source_column_used_as_a_field_suggests_the_aggregate():
    out = run("check", "-e", "amount_inr > 5", cwd=HOSPITALITY, code=1).stdout
    assert "unknown field `amount_inr`" in out
    assert "`sum(bookings.amount_inr) > 5`" in out
    assert "`count(bookings where amount_inr > 5) >= 1`" in out
    out = run("check", "-e", "nights >= 3", cwd=HOSPITALITY, code=1).stdout
    assert "total_nights" not in out and "`sum(bookings.nights) >= 3`" in out


@pytest.mark.parametrize(("project", "field", "entity"), [("hospitality", "ltv", "guest"), ("golf", "handicap", "member")])
def test_help_examples_come_from_the_projects_own_schema(project, field, entity):
    cwd = ROOT / "examples" / project
    out = run("check", "-e", "ltv > 1 and and", cwd=cwd, code=1).stdout
    assert f"a condition starts with a field, e.g. `{field} " in out
    assert "count_guests" not in out
    other = "ltv" if project == "golf" else "handicap"
    assert f"`{other}" not in out.split("help:")[-1]


def test_a_keyword_as_a_segment_name_gets_an_example_for_the_entity(tmp_path):
    bad = tmp_path / "kw.seg"
    bad.write_text("segment where { where handicap > 1.0 }\n")
    out = run("check", str(bad), "--schema", str(ROOT / "examples" / "golf" / "schema.toml"), code=1).stdout
    assert "choose another name, e.g. `where_members`" in out and "_guests" not in out


# ------------------------------------------------------------------ files and directories


def test_check_with_no_file_checks_the_project_here():
    out = run("check", cwd=HOSPITALITY).stdout
    n = len(list(HOSPITALITY.glob("*.seg")))
    assert out.strip().splitlines()[-1].startswith(f"checked {n} files: no problems")


def test_check_with_no_file_outside_a_project_is_a_usage_error(tmp_path):
    err = run("check", cwd=tmp_path, code=2).stderr
    assert "nothing to check" in err and "segdsl.toml" in err


def test_check_compile_and_size_accept_directories():
    n = len(list(HOSPITALITY.glob("*.seg"))) + len(list((ROOT / "examples" / "golf").glob("*.seg")))
    out = run("check", "examples/hospitality", "examples/golf").stdout
    assert out.strip().splitlines()[-1].startswith(f"checked {n} files")
    by_dir = run("compile", "examples/hospitality", "--as-of", "2026-11-01").stdout
    by_files = run("compile", *sorted(str(p.relative_to(ROOT)) for p in HOSPITALITY.glob("*.seg")),
                   "--as-of", "2026-11-01").stdout
    assert by_dir == by_files and by_dir.count("-- segment: ") >= 9
    sized = run("size", "examples/hospitality", "--as-of", "2026-11-01", "--format", "csv").stdout
    assert "high_value" in sized


def test_a_directory_without_seg_files_is_a_usage_error(tmp_path):
    err = run("check", str(tmp_path), code=2).stderr
    assert "no .seg files under" in err


def test_compile_takes_several_files():
    out = run("compile", "examples/hospitality/segments.seg", "examples/golf/segments.seg",
              "--as-of", "2026-11-01").stdout
    assert "-- segment: high_value" in out
    golf = (ROOT / "examples" / "golf" / "segments.seg").read_text()
    first_golf = golf.split("segment ", 2)[1].split()[0]
    assert f"-- segment: {first_golf}" in out


# ------------------------------------------------------------------ colour


def _on_terminal(*args: str, env: dict | None = None) -> str:
    """Run segdsl with stdout and stderr on a pseudo-terminal; what it printed."""
    import os
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout and stderr are the terminal
        os.chdir(HOSPITALITY)
        os.environ.pop("NO_COLOR", None)
        os.environ.update(env or {})
        os.execv(SEGDSL, [SEGDSL, *args])
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_and_not_in_a_pipe():
    assert "\x1b[" in _on_terminal("check", "-e", "lvt > 1")
    piped = run("check", "-e", "lvt > 1", cwd=HOSPITALITY, code=1, env={"NO_COLOR": ""}).stdout
    assert "\x1b[" not in piped and "error[E0101]" in piped


def test_no_color_and_color_never_are_honoured():
    assert "\x1b[" not in _on_terminal("check", "-e", "lvt > 1", env={"NO_COLOR": "1"})
    assert "\x1b[" not in _on_terminal("--color=never", "check", "-e", "lvt > 1")


def test_color_always_colours_a_pipe():
    out = run("--color=always", "check", "-e", "lvt > 1", cwd=HOSPITALITY, code=1).stdout
    assert "\x1b[31m\x1b[1merror[E0101]" in out
    assert "did you mean `ltv`?" in out


# ------------------------------------------------------------------ --help


def _commands():
    import click

    from segdsl.cli.main import cli

    ctx = click.Context(cli)
    out = []

    def walk(group, path):
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            out.append((path + [name], cmd))
            if isinstance(cmd, click.Group):
                walk(cmd, path + [name])

    walk(cli, [])
    return out


def test_every_command_has_help_with_examples_that_parse(monkeypatch, tmp_path):
    import shlex

    import click

    # The files the examples name, so arguments that must exist do.
    for name in ("segments.seg", "journeys.seg", "keys.csv", "rules.json"):
        (tmp_path / name).write_text("")
    (tmp_path / "examples" / "golf").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    commands = _commands()
    assert len(commands) >= 20
    for path, cmd in commands:
        text = (cmd.help or "") + "\n" + (cmd.epilog or "")
        assert "Examples:" in text, f"segdsl {' '.join(path)} --help has no example"
        examples = [line.strip() for line in text.split("Examples:", 1)[1].splitlines() if line.strip()]
        assert examples
        for example in examples:
            words = shlex.split(example, comments=True)
            # What the shell does with the output is not the command's.
            words = next((words[:i] for i, w in enumerate(words) if w in (">", ">>", "|", "&&")), words)
            assert words[0] == "segdsl", example
            # The example names this command (or, for a group, one of its commands) ...
            assert words[1:1 + len(path)] == path, example
            # ... and its options and arguments are ones the command takes.
            target, rest = cmd, words[1 + len(path):]
            if isinstance(cmd, click.Group):
                target, rest = cmd.get_command(click.Context(cmd), rest[0]), rest[1:]
            target.make_context(target.name, list(rest), resilient_parsing=False)


def test_help_of_every_command_runs():
    for path, _ in _commands():
        out = run(*path, "--help").stdout
        assert "Usage: segdsl" in out and "Examples:" in out
