"""The segdsl language server: diagnostics, hover, completion, navigation, rename,
formatting and outlines for ``.seg`` files, over LSP on stdio (``segdsl lsp``).

Layout: :mod:`~segdsl.lsp.text` (positions and a forgiving token scan),
:mod:`~segdsl.lsp.analysis` (projects, open buffers, incremental parsing, checking),
:mod:`~segdsl.lsp.convert` (segdsl values to LSP values), one module per feature
(:mod:`~segdsl.lsp.hover`, :mod:`~segdsl.lsp.completion`, :mod:`~segdsl.lsp.navigation`,
:mod:`~segdsl.lsp.sizing`), and :mod:`~segdsl.lsp.server`, the only module that
registers LSP handlers. Needs ``pygls`` (``pip install 'segdsl[lsp]'``).
"""

from __future__ import annotations


def serve() -> None:
    """Run the language server on stdin/stdout."""
    from segdsl.lsp.server import serve as _serve

    _serve()
