"""``python -m segdsl.lsp``: the language server on stdio, as ``segdsl lsp``."""

from segdsl.lsp import serve

serve()
