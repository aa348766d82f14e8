"""CLI commands of the `evals` stage (mounted by :mod:`emlab.cli`)."""

import typer

app = typer.Typer(help="evals commands.", no_args_is_help=True)
