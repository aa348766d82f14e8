"""CLI commands of the `corpus` stage (mounted by :mod:`emlab.cli`)."""

import typer

app = typer.Typer(help="corpus commands.", no_args_is_help=True)
