"""The IR: the typed rule every backend consumes (:mod:`~segdsl.ir.nodes`), the passes
over it (:mod:`~segdsl.ir.passes`) and the one definition of each semantic rule the
backends share (:mod:`~segdsl.ir.semantics`).

``from segdsl import ir`` gives the nodes and passes as one namespace: ``ir.And``,
``ir.negation_normal_form``.
"""

from segdsl.ir.nodes import *  # noqa: F403
from segdsl.ir.nodes import __all__ as _nodes
from segdsl.ir.passes import *  # noqa: F403
from segdsl.ir.passes import __all__ as _passes

__all__ = [*_nodes, *_passes]
