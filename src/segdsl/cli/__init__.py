"""The `segdsl` command: click only, one module per command group, each a thin shell over the library API."""
