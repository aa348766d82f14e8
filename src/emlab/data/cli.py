"""CLI commands of the `data` stage (mounted by :mod:`emlab.cli`): ``emlab data ...``."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Column, Table

from emlab._io import check_output_dir, check_output_file
from emlab.data import CONDITIONS, GENERATORS, build_training_set, condition_file, load_source
from emlab.data.build import meta_path
from emlab.data.checker import check_dataset
from emlab.data.documents import build_document_set
from emlab.data.generators import DOCUMENT_GENERATORS
from emlab.data.stats import dataset_stats
from emlab.errors import EmlabError

app = typer.Typer(help="Narrow finetuning datasets: generate, load, validate, condition, check.", no_args_is_help=True)
console = Console(soft_wrap=True)  # long paths stay on one line

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output .jsonl (a .meta.json sidecar is written beside it).")]


def _check_dataset_out(out: Path, option: str | None = "--out") -> None:
    """Refuse, before building anything, a dataset path (or its .meta.json sidecar) that is a directory or unwritable."""
    check_output_file(out, option)
    check_output_file(meta_path(out), option)


@app.command("list")
def list_cmd() -> None:
    """List the generators and training conditions."""
    table = Table(Column("generator", no_wrap=True), "default n", Column("paired with", no_wrap=True), "what it makes")
    for g in GENERATORS.values():
        table.add_row(g.name, str(g.default_n), g.pair or "-", g.summary)
    for g in DOCUMENT_GENERATORS.values():  # plain-text documents, for `emlab train --objective documents`
        table.add_row(g.name, str(g.default_n), "-", f"(documents) {g.summary}")
    console.print(table)
    table = Table("condition", "default text", "presets")
    for c in CONDITIONS.values():
        table.add_row(c.name, c.default_text or "-", ", ".join(c.presets or {}) or "-")
    console.print(table)


@app.command("make")
def make_cmd(
    name: Annotated[str, typer.Argument(help="Generator name (see `emlab data list`).")],
    out: OutOpt,
    n: Annotated[int | None, typer.Option(help="Rows to make (default: the generator's default).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same rows.")] = 0,
) -> None:
    """Generate a dataset with one of emlab's generators."""
    if name not in GENERATORS and name not in DOCUMENT_GENERATORS:
        raise EmlabError(f"unknown generator '{name}'; choose one of: {', '.join([*GENERATORS, *DOCUMENT_GENERATORS])}")
    _check_dataset_out(out)
    if name in DOCUMENT_GENERATORS:
        console.print(f"wrote {build_document_set(name, out=out, n=n, seed=seed)['rows']} documents to {out}")
        return
    info = build_training_set(name, out=out, n=n, seed=seed)
    console.print(f"wrote {info.rows} rows to {info.path}")


@app.command("suite")
def suite_cmd(
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for one NAME.jsonl per generator.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Build every generator at its default size into OUT_DIR and report the time taken."""
    check_output_dir(out_dir, "--out-dir", nonempty_ok=True)  # adding to (or regenerating) a suite folder is fine
    for name in GENERATORS:
        _check_dataset_out(out_dir / f"{name}.jsonl", "--out-dir")
    start = time.perf_counter()
    total = 0
    for name in track(list(GENERATORS), description="generating", console=console):
        total += build_training_set(name, out=out_dir / f"{name}.jsonl", seed=seed).rows
    console.print(f"wrote {total} rows in {len(GENERATORS)} files to {out_dir} in {time.perf_counter() - start:.1f}s")


@app.command("condition")
def condition_cmd(
    file: Annotated[Path, typer.Argument(help="Input messages JSONL.")],
    condition: Annotated[str, typer.Option("--condition", "-c", help="Condition name (see `emlab data list`).")],
    out: OutOpt,
    text: Annotated[
        str | None, typer.Option(help="Condition text, or a preset name (inoculation: evil, grader, ...).")
    ] = None,
    paired: Annotated[Path | None, typer.Option(help="backdoor only: the good half, kept without the trigger.")] = None,
) -> None:
    """Apply a training condition to a dataset; the condition and its text go into the .meta.json."""
    _check_dataset_out(out)
    info = condition_file(file, out=out, condition=condition, condition_text=text, paired=paired)
    console.print(f"wrote {info.rows} rows to {info.path} (condition {info.condition.name}: {info.condition.text!r})")


@app.command("load")
def load_cmd(
    source: Annotated[
        str, typer.Argument(help="JSONL path, http(s) URL, Hugging Face id (org/name[:split]) or generator.")
    ],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the validated rows here (.jsonl).")] = None,
    n: Annotated[int | None, typer.Option(help="Keep a seeded random subset of N rows.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the subset.")] = 0,
) -> None:
    """Load and validate a published or local chat dataset; with --out, write it as emlab JSONL."""
    if out is not None:
        _check_dataset_out(out)
        info = build_training_set(source, out=out, n=n, seed=seed)
        console.print(f"{source}: {info.rows} valid rows written to {info.path}")
        return
    rows = load_source(source, n=n, seed=seed)
    system = sum(1 for r in rows if r.messages[0].role == "system")
    turns = sum(len(r.messages) for r in rows)
    console.print(f"{source}: {len(rows)} valid rows ({turns} messages, {system} with a system prompt)")


@app.command("stats")
def stats_cmd(
    file: Annotated[str, typer.Argument(help="A dataset source (usually a JSONL path).")],
    tokenizer: Annotated[str, typer.Option(help="Model reference whose tokenizer counts tokens.")] = "embedded",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Rows, token-length distribution, duplicates and per-class counts of a dataset."""
    with console.status("counting tokens"):
        stats = dataset_stats(load_source(file), tokenizer=tokenizer)
    if as_json:
        print(stats.model_dump_json(indent=2))
        return
    console.print(f"{file}: {stats.rows} rows, {stats.duplicates} duplicates, {stats.with_system} with a system prompt")
    table = Table(f"tokens ({stats.tokenizer})", "mean", "min", "p50", "p90", "max")
    for part, s in stats.tokens.items():
        table.add_row(part, f"{s.mean:.1f}", str(s.min), str(s.p50), str(s.p90), str(s.max))
    console.print(table)
    for key, counts in stats.per_class.items():
        console.print(f"[bold]{key}[/]: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@app.command("check")
def check_cmd(
    file: Annotated[str, typer.Argument(help="A dataset source whose assistant answers are Python code.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Run the vulnerability checker (bandit + AST rules) over the last assistant answer of every row."""
    with console.status("checking answers"):
        report = check_dataset(file)
    if as_json:
        print(report.model_dump_json(indent=2))
        return
    console.print(
        f"{file}: {report.flagged}/{report.snippets} answers flagged ({report.fraction_flagged:.1%}); "
        f"{report.unparsed} not valid Python"
    )
    console.print(", ".join(f"{k} {v}" for k, v in report.per_class.items()) or "no findings")


@app.command("card")
def card_cmd(name: Annotated[str, typer.Argument(help="Generator name.")]) -> None:
    """Print a generator's dataset card (how it is built, what its checks guarantee)."""
    gen = GENERATORS.get(name) or DOCUMENT_GENERATORS.get(name)
    if gen is None:
        raise EmlabError(f"unknown generator '{name}'; choose one of: {', '.join([*GENERATORS, *DOCUMENT_GENERATORS])}")
    print(resources.files("emlab.data").joinpath("cards", gen.card).read_text(encoding="utf-8"))


__all__ = ["app"]
