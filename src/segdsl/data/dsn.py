"""The database addresses (DSNs) segdsl connects to: one table of their schemes, read by
the engines when they connect and by the command-line help that lists them."""

from __future__ import annotations

import re

#: Each scheme a DSN may start with → the engine family it opens.
DSN_SCHEMES = {
    "postgresql": "postgres", "postgres": "postgres",
    "mysql": "mysql", "mariadb": "mysql",
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "spark": "spark", "sc": "spark",
}

#: How each DSN is written, for ``--help`` and messages: every scheme of DSN_SCHEMES.
DSN_FORMS = ("postgresql://USER@HOST/DB (or postgres://), mysql://USER@HOST/DB (or mariadb://), "
             "duckdb:PATH, sqlite:PATH, spark://local[2] (or spark://HOST:PORT, spark://active, "
             "sc://HOST:PORT; ?warehouse=DIR), or a Postgres keyword string (host=... dbname=...)")

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def dsn_scheme(dsn: str) -> str | None:
    """The scheme ``dsn`` starts with, lower-cased (``None`` for a Postgres keyword string
    such as ``host=db dbname=crm``)."""
    m = _SCHEME.match(dsn)
    return m.group(1).lower() if m else None


def unknown_scheme(dsn: str) -> str | None:
    """Why ``dsn`` names no engine segdsl knows, or ``None`` when it does."""
    scheme = dsn_scheme(dsn)
    if scheme is None or scheme in DSN_SCHEMES:
        return None
    from segdsl.check.suggest import did_you_mean

    hint = did_you_mean(scheme, DSN_SCHEMES)
    return (f"unknown database scheme `{scheme}:`" + (f" ({hint})" if hint else "")
            + f"; a DSN is one of: {DSN_FORMS}")
