"""In-memory evaluation of checked rules: one record at a time, or a whole table.

``compile_row`` (pure Python) and ``evaluate`` / ``member_keys`` (numpy) give exactly
the members every SQL target gives. The columnar side is imported on first use, so
importing this package does not load numpy or pyarrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segdsl.backends.memory.row import compile_row

if TYPE_CHECKING:
    import datetime as dt

    import numpy as np

    from segdsl import ir
    from segdsl.data.tables import Table


def evaluate(rule: ir.Node, table: Table, as_of: dt.datetime) -> np.ndarray:
    """The member mask of ``table`` (see :func:`segdsl.backends.memory.columnar.evaluate`)."""
    from segdsl.backends.memory import columnar

    return columnar.evaluate(rule, table, as_of)


def member_keys(rule: ir.Node, table: Table, as_of: dt.datetime) -> list[Any]:
    """The members' keys in ascending order (see :func:`segdsl.backends.memory.columnar.member_keys`)."""
    from segdsl.backends.memory import columnar

    return columnar.member_keys(rule, table, as_of)


__all__ = ["compile_row", "evaluate", "member_keys"]
