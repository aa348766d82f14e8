"""``emlab run``, ``emlab eval`` and ``emlab report``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console


def register(app: typer.Typer) -> None:
    """Add the experiment-level commands to the top-level app."""

    @app.command("run")
    def run(
        spec: Path = typer.Argument(..., help="experiment spec YAML"),
        runs_dir: Path = typer.Option(Path("runs"), help="parent dir of run dirs"),
    ) -> None:
        """Run an experiment spec: build data, train what is missing, evaluate, tabulate (resumable).

        The whole spec is checked first (``kind: finetune``, ``pretraining`` or ``rl``): a bad field
        stops the run with one line naming it, before anything is built. ``kind: rl``: RL on the hackable
        environments, then the evals on chosen checkpoints (:mod:`emlab.run.rl`).
        """
        from emlab._io import check_output_dir
        from emlab.run.kinds import make_runner
        from emlab.run.pretraining import PretrainingRunner
        from emlab.run.spec import parse_spec, read_spec_file

        parsed = parse_spec(read_spec_file(spec), str(spec))
        check_output_dir(runs_dir / parsed.name, "--runs-dir", nonempty_ok=True)  # an existing run dir is resumed
        console = Console()
        runner = make_runner(parsed, runs_dir / parsed.name, console)
        out = runner.run()
        if isinstance(runner, PretrainingRunner):
            runner.print_summary()
        console.print(f"[green]done[/] {out}  (next: emlab report {out})")

    @app.command("eval")
    def eval_(
        model: str = typer.Option(..., "--model", help="model reference: embedded, a dir, an adapter dir, or a hub id"),
        task: str = typer.Option("freeform", help="emlab task name or any Inspect task"),
        task_arg: list[str] = typer.Option([], "-T", help="task argument key=value (repeatable)"),
        judge: str = typer.Option("embedded", help="embedded, or an Inspect model for the grader role"),
        log_dir: Path = typer.Option(Path("logs"), help="where the Inspect log goes"),
        limit: int = typer.Option(None, help="evaluate only the first N samples"),
        max_connections: int = typer.Option(
            None,
            min=1,
            help="concurrent generate calls (= the local providers' batch size); 1: answers the same token for token in every run, slower",
        ),
        engine: str = typer.Option(
            "hf",
            help="hf: the emlab/ provider in this process; vllm: a vLLM server emlab starts and stops "
            "(python from $EMLAB_VLLM_PYTHON; `make vllm` installs one)",
        ),
    ) -> None:
        """Evaluate one model with one task; prints the metrics and the log path."""
        import contextlib

        import yaml
        from inspect_ai import eval as inspect_eval

        from emlab._io import check_output_dir
        from emlab.engines import ENGINES
        from emlab.engines.vllm import VLLMServer, inspect_model_name, plan_servers, serving
        from emlab.errors import EmlabError
        from emlab.evals import inspect_task_name
        from emlab.judges.scorer import preflight_judge
        from emlab.models import resolve_model

        args = {}
        for kv in task_arg:
            if "=" not in kv:
                raise EmlabError(f"-T {kv}: expected key=value")
            k, v = kv.split("=", 1)
            args[k] = yaml.safe_load(v)
        if engine not in ENGINES:
            raise EmlabError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        name = inspect_task_name(task, args)
        check_output_dir(log_dir, "--log-dir", nonempty_ok=True)
        preflight_judge(judge)
        resolved = resolve_model(model)
        with contextlib.ExitStack() as stack:
            inspect_model = resolved.inspect_name
            if engine == "vllm":
                from emlab.inference import inference_dtype  # deferred: imports torch

                served = Path(resolved.path).name if Path(resolved.path).exists() else resolved.path.replace("/", "-")
                dtype = str(inference_dtype()).removeprefix("torch.")
                (plan,) = plan_servers([(served, resolved)], dtype=dtype)
                server = stack.enter_context(VLLMServer(plan, log_dir / f"vllm-{plan.base_name}.log"))
                stack.enter_context(serving(server.url))
                inspect_model = inspect_model_name(served)
            log = inspect_eval(
                name,
                model=inspect_model,
                task_args=args,
                model_roles=None if judge == "embedded" else {"grader": judge},
                log_dir=str(log_dir),
                limit=limit,
                max_connections=max_connections,
            )[0]
        if log.status != "success":
            raise EmlabError(f"eval failed: {log.error.message if log.error else log.status}")
        Console().print(f"log: {log.location}  (inspect view --log-dir {log_dir})")

    @app.command("report")
    def report(
        run_dir: Path = typer.Argument(..., help="a run dir made by emlab run"),
        out: Path = typer.Option(None, help="HTML file (default: RUN_DIR/report.html)"),
    ) -> None:
        """Write a self-contained HTML report of a run."""
        from emlab._io import check_output_file
        from emlab.analysis.report import write_report

        if out is not None:
            check_output_file(out)  # never a run dir or any other folder
        path = write_report(run_dir, out)
        Console().print(f"[green]report written to[/] {path}")
