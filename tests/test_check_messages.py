"""The checker quotes operands and literals as the user wrote them, through the one
printer: an aggregate used where a field was expected once crashed the CLI with
``internal error: AttributeError: 'Aggregate' object has no attribute 'name'`` (a second
copy of the printer's ``operand_text`` had drifted from it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from segdsl.check.checker import check_expression
from segdsl.check.traits import load_schema
from segdsl.syntax.parser import parse_expression

ROOT = Path(__file__).resolve().parent.parent
SEGDSL = shutil.which("segdsl", path=str(Path(sys.executable).parent)) or "segdsl"


@pytest.mark.parametrize("text,code,message,help_", [
    ("count(bookings)", "E0102", "`count(bookings)` is not a boolean", "compare it, e.g. `count(bookings) >= 1`"),
    ("count(bookings) = null", "E0104", "comparing with null is never true",
     "`count(bookings)` is never null; compare it with a value, e.g. `count(bookings) >= 1`"),
    ("max(bookings.checked_in_at where status = \"completed\") != null", "E0104", "comparing with null",
     "write `max(bookings.checked_in_at where status = \"completed\") is not null`"),
    ("days_since(last_booking_at) = null", "E0104", "comparing with null",
     "write `days_since(last_booking_at) is null`"),
    ("ltv between 5 and 1", "W0201", "", "write `between 1 and 5`"),
])
def test_messages_quote_operands_as_written(text, code, message, help_):
    schema, problems = load_schema(ROOT / "examples" / "hospitality" / "schema.toml")
    assert schema is not None, problems
    parsed = parse_expression(text)
    assert parsed.expr is not None, parsed.diagnostics
    _, diagnostics = check_expression(parsed.expr, schema)
    (d,) = [d for d in diagnostics if d.code == code]
    assert message in d.message and help_ in (d.help or ""), d


@pytest.mark.parametrize("text", ["count(bookings)", "count(bookings) = null"])
def test_compile_expr_with_an_aggregate_is_a_diagnostic_not_a_crash(text):
    proc = subprocess.run([SEGDSL, "compile", "-e", text], cwd=ROOT / "examples" / "hospitality",
                          capture_output=True, text=True, timeout=120)
    assert "internal error" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "error[E010" in proc.stdout + proc.stderr and "count(bookings)" in proc.stdout + proc.stderr
