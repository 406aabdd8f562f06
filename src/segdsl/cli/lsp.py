"""``segdsl lsp``: the language server, for editors (see docs/editors.md)."""

from __future__ import annotations

import click


@click.command("lsp")
@click.option("--stdio", is_flag=True, default=True,
              help="Talk LSP over stdin/stdout (the default and only transport).")
def lsp(stdio: bool) -> None:
    """Run the segdsl language server on stdin/stdout.

    Editors start it themselves: diagnostics as you type, hover, completion, go to
    definition, references, rename, formatting and document symbols for .seg files.

    \b
    Examples:
      segdsl lsp    # started by the editor, speaks LSP on stdin/stdout
    """
    import importlib.util

    if importlib.util.find_spec("pygls") is None:
        raise click.ClickException(
            "the language server needs pygls: pip install 'segdsl[lsp]' (or pip install 'pygls>=2')"
        ) from None
    from segdsl.lsp import serve

    serve()
