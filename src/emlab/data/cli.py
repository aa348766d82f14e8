"""CLI commands of the `data` stage (mounted by :mod:`emlab.cli`)."""

import typer

app = typer.Typer(help="data commands.", no_args_is_help=True)
