"""`python -m segdsl`: the same as the `segdsl` command."""

from segdsl.cli.main import main

main()
