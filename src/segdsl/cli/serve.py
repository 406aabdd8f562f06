"""``segdsl serve``: the local, read-only web page over a project (see docs/serve.md)."""

from __future__ import annotations

import click

from segdsl.data.dsn import DSN_FORMS


@click.command("serve", epilog="""\b
Examples:
  segdsl serve examples/hospitality --as-of 2026-11-01
  segdsl serve examples/golf --port 8080
  segdsl serve examples/hospitality --dsn duckdb:crm.duckdb""")
@click.argument("project", required=False, default=".", type=click.Path(file_okay=False))
@click.option("--dsn", envvar="SEGDSL_DSN", metavar="URL",
              help=f"Compute on this database, loaded with `segdsl db load`: {DSN_FORMS} (env: SEGDSL_DSN). "
                   "Default: in memory, on the project's CSV data.")
@click.option("--as-of", "as_of", default="now", show_default=True, metavar="WHEN",
              help="The instant every figure is computed at: `now` (read once, at start), a date (YYYY-MM-DD, "
                   "its UTC midnight) or an ISO timestamp.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on; only this machine can reach the default.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="The port to listen on.")
def serve(project, dsn, as_of, host, port):
    """Serve the live diagram of PROJECT (default: the one around the working
    directory) at http://HOST:PORT: segment pages, a rule editor, journey funnels.

    Read-only: nothing on the page changes a .seg file or the database. Needs the
    extra `segdsl[serve]` (Starlette and uvicorn).
    """
    from segdsl.cli.common import fail_on_errors, parse_as_of, relevant

    try:
        import uvicorn

        from segdsl.serve.app import create_app
    except ImportError as exc:
        raise click.ClickException(f"`segdsl serve` needs the extra serve: pip install 'segdsl[serve]' ({exc})") \
            from None
    from segdsl.serve.site import Site
    import segdsl

    instant = parse_as_of(as_of)
    ws = segdsl.load_project(project)
    fail_on_errors(ws, relevant(ws))
    if not dsn and ws.data_dir is None:
        raise click.UsageError("no data: set `data` in segdsl.toml or pass --dsn")
    if dsn:  # say now, not on the page, that the database cannot be read
        from segdsl.data.loading import open_loaded

        with open_loaded(dsn, ws.schema):
            pass
    site = Site(ws, instant, dsn)
    click.echo(f"segdsl serve: {site.source}, as of {site.stamp}", err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"segdsl serve: listening on {host}: other machines can reach the page, which has no login",
                   err=True)
    click.echo(f"open http://{host if ':' not in host else f'[{host}]'}:{port}/ (Ctrl-C stops)", err=True)
    uvicorn.run(create_app(site), host=host, port=port, log_level="warning")
