"""A literal with more digits than a decimal field's scale is compared exactly: the
comparison is brought to the field's scale (ir.semantics.decimal_bound), so
`handicap > 14.99999999999999999` is `handicap >= 15.0`, never a rounded `> 15.0`."""

from __future__ import annotations

import operator
import shutil
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from segdsl.ir.semantics import decimal_bound

ROOT = Path(__file__).resolve().parent.parent
SEGDSL = shutil.which("segdsl", path=str(Path(sys.executable).parent)) or "segdsl"
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq,
       "!=": operator.ne}


@given(
    op=st.sampled_from(sorted(OPS)),
    scale=st.integers(0, 6),
    x=st.integers(-10**9, 10**9),
    digits=st.integers(-10**25, 10**25),
    places=st.integers(0, 30),
)
def test_the_bound_at_the_fields_scale_keeps_every_answer(op, scale, x, digits, places):
    value = Fraction(x, 10**scale)  # a field value: a whole number of units of its last place
    literal = Decimal(digits).scaleb(-places)
    exact = OPS[op](value, Fraction(literal))
    found = decimal_bound(op, literal, scale)
    if isinstance(found, bool):
        assert exact is found
    else:
        op2, bound = found
        assert -bound.as_tuple().exponent == scale
        assert OPS[op2](value, Fraction(bound)) is exact


def _size(rule: str) -> str:
    proc = subprocess.run([SEGDSL, "size", "-e", rule, "--as-of", "2026-11-01", "--format", "csv"],
                          cwd=ROOT / "examples" / "golf", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[1].split(",")[4]


def test_a_long_literal_is_accepted_exactly():
    assert _size("handicap > 14.99999999999999999") == _size("handicap >= 15.0")
    assert _size("handicap > 14.99999999999999999") != _size("handicap > 15.0")  # rounding would lose rows
    assert _size("handicap <= 15.00000000000000001") == _size("handicap <= 15.0")
    out = subprocess.run([SEGDSL, "compile", "-e", "handicap > 14.99999999999999999", "--as-of", "2026-11-01",
                          "--target", "sqlite"], cwd=ROOT / "examples" / "golf", capture_output=True, text=True)
    assert out.returncode == 0 and "E0117" not in out.stderr


def test_equality_with_more_places_than_the_field_still_says_so():
    proc = subprocess.run([SEGDSL, "check", "-e", "handicap = 14.99999999999999999"],
                          cwd=ROOT / "examples" / "golf", capture_output=True, text=True)
    assert proc.returncode == 1 and "error[E0117]" in proc.stdout
    assert "round it" not in proc.stdout and "`handicap` has 1 decimal place:" in proc.stdout
