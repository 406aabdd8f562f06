"""``python -m segdsl.lsp``: the language server on stdio, as ``segdsl lsp``."""

from segdsl.lsp import serve

# Guarded: the sizing process (multiprocessing, spawn) imports this module as well.
if __name__ == "__main__":
    serve()
