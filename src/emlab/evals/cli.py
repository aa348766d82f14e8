"""CLI commands of the `evals` stage (mounted by :mod:`emlab.cli` as ``emlab evals``).

``list``              the tasks, their primary metric and scenario counts
``check-scenarios``   validate a scenario JSONL file for a task (errors name file:line:field)
``sandbox-check``     run the escape suite on this machine; exit 1 if anything escaped
``monitor-summary``   CoT-monitor caught / missed / false-alarm rates from an Inspect log
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from emlab.errors import EmlabError
from emlab.evals._data import load_rows
from emlab.evals.sandbox import escape
from emlab.evals.sandbox.runner import isolation_report

# the task registry and Inspect's log reader load inside the commands that need them (Inspect takes seconds)

app = typer.Typer(
    help="Evaluation tasks (run them with `inspect eval emlab/<task>` or `emlab run`).", no_args_is_help=True
)


@app.command("list")
def list_tasks() -> None:
    """List emlab's misalignment tasks with their primary metric and built-in scenario count."""
    from emlab.evals.registry import TASKS

    table = Table("task", "primary metric", "scenarios", "description")
    for t in TASKS.values():
        if t.metric is not None and t.row_model is not None:
            table.add_row(f"emlab/{t.name}", t.metric, str(len(load_rows(t.name, t.row_model))), t.description)
    Console().print(table)


@app.command("check-scenarios")
def check_scenarios(
    task: Annotated[str, typer.Argument(help="task whose scenario format to check")],
    path: Annotated[Path, typer.Argument(help="JSONL file")],
) -> None:
    """Validate a scenario file for TASK; print the row count, or one error naming file:line:field."""
    from emlab.evals.registry import scenario_model

    if not path.is_file():
        raise EmlabError(f"{path}: no such file")
    rows = load_rows(str(path), scenario_model(task))
    print(f"{path}: {len(rows)} valid {task} scenarios")


@app.command("sandbox-check")
def sandbox_check(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Run the adversarial suite; print blocked/total per class; exit 1 if anything escaped."""
    layers, checks = isolation_report(), escape.run_escape_suite()
    counts = escape.summary(checks)
    if as_json:
        report = {"isolation": layers, "classes": counts, "checks": [c.model_dump() for c in checks]}
        print(json.dumps(report, indent=2))
    else:
        console = Console()
        console.print("isolation: " + "; ".join(layers))
        table = Table("class", "attack", "blocked", "evidence")
        for c in checks:
            table.add_row(c.cls, c.attack, "[green]yes[/]" if c.blocked else "[red]NO[/]", c.evidence)
        console.print(table)
        for cls, (blocked, total) in counts.items():
            console.print(f"{cls}: {blocked}/{total} blocked")
    if not all(c.blocked for c in checks):
        raise typer.Exit(1)


@app.command("monitor-summary")
def monitor_summary_cmd(
    log: Annotated[Path, typer.Argument(help="an Inspect .eval/.json log of an emlab task")],
) -> None:
    """Print the CoT monitor's catch and false-alarm rates against the task's behavioural metric."""
    from inspect_ai.log import read_eval_log

    from emlab.evals.monitor import monitor_summary

    if not log.is_file():
        raise EmlabError(f"{log}: no such log file")
    try:
        data = read_eval_log(str(log))
    except Exception as e:
        raise EmlabError(f"{log}: not a readable Inspect log ({e})") from None
    values = [
        s.value for sample in data.samples or [] for s in (sample.scores or {}).values() if isinstance(s.value, dict)
    ]
    summary = monitor_summary(values)
    print(
        json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in summary.items()}, indent=2)
    )
