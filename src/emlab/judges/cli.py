"""CLI commands of the `judges` stage (mounted by :mod:`emlab.cli`)."""

import typer

app = typer.Typer(help="judges commands.", no_args_is_help=True)
