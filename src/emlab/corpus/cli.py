"""CLI commands of the `corpus` stage (mounted by :mod:`emlab.cli` as ``emlab corpus``)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from emlab._io import check_output_dir, check_output_file
from emlab.corpus import transforms
from emlab.corpus.classifier import classify, load_head, train_head
from emlab.corpus.distributed import run_datatrove
from emlab.corpus.evalset import packaged_eval_path, per_class_metrics, prefilter_recall
from emlab.corpus.labels import LABELS
from emlab.corpus.prefilter import prefilter_mask
from emlab.corpus.stream import batched, read_documents, write_documents
from emlab.corpus.transforms import synthesize_docs
from emlab.errors import EmlabError

app = typer.Typer(
    help="Pretraining-corpus tools: discourse classifier, filter/upweight/tag/synthesize, testbed.",
    no_args_is_help=True,
)

TEXT_FIELD = typer.Option("text", "--text-field", help="Document field holding the text.")
HF_SPLIT = typer.Option("train", "--hf-split", help="Split, for hf:<dataset> sources.")


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _docs(source: str, text_field: str, hf_split: str) -> Any:
    return read_documents(source, text_field=text_field, hf_split=hf_split)


def _scorer(head: Path | None) -> Any:
    h = load_head(str(head) if head else None)
    return lambda texts: classify(texts, h)


@app.command("classify")
def classify_cmd(
    source: str = typer.Argument(..., help=".jsonl[.gz], .parquet or hf:<dataset>"),
    output: Path = typer.Argument(..., help="Output .jsonl or .parquet"),
    head: Path | None = typer.Option(None, help="Classifier head .npz (default: packaged)"),
    text_field: str = TEXT_FIELD,
    hf_split: str = HF_SPLIT,
) -> None:
    """Add `discourse_label` and `p_<label>` fields to every document."""
    check_output_file(output, "OUTPUT")
    scorer = _scorer(head)

    def rows() -> Any:
        for chunk in batched(_docs(source, text_field, hf_split), 256):
            for doc, p in zip(chunk, scorer([d[text_field] for d in chunk]), strict=True):
                yield {
                    **doc,
                    "discourse_label": LABELS[int(p.argmax())],
                    **{f"p_{k}": float(v) for k, v in zip(LABELS, p, strict=True)},
                }

    _print({"written": write_documents(output, rows()), "output": str(output)})


@app.command("eval")
def eval_cmd(
    data: Path | None = typer.Option(None, help="Labelled JSONL {text,label} (default: emlab's evaluation set)"),
    head: Path | None = typer.Option(None, help="Classifier head .npz (default: packaged)"),
    min_prefilter_recall: float = typer.Option(0.98, help="Exit 1 if the prefilter's misaligned recall is below this"),
) -> None:
    """Print per-class precision/recall of the classifier and the prefilter's recall per class."""

    rows = list(read_documents(str(data or packaged_eval_path())))
    for i, r in enumerate(rows, 1):
        if r.get("label") not in LABELS:
            raise EmlabError(
                f"{data or packaged_eval_path()}:{i}: field 'label' must be one of {LABELS}, got {r.get('label')!r}"
            )
    texts, gold = [r["text"] for r in rows], [r["label"] for r in rows]
    pred = [LABELS[i] for i in classify(texts, load_head(str(head) if head else None)).argmax(axis=1)]
    metrics, pre = per_class_metrics(gold, pred), prefilter_recall(gold, prefilter_mask(texts))
    table = Table(title=f"discourse classifier on {len(rows)} documents")
    for col in ("class", "n", "precision", "recall", "prefilter pass rate"):
        table.add_column(col)
    for lbl in LABELS:
        m = metrics[lbl]
        table.add_row(lbl, str(int(m["support"])), f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{pre[lbl]:.3f}")
    Console().print(table)
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    print(f"accuracy {accuracy:.3f}; prefilter passes {sum(prefilter_mask(texts)) / len(texts):.3f} of documents")
    if pre["misaligned"] < min_prefilter_recall:
        print(f"prefilter recall on misaligned {pre['misaligned']:.3f} < {min_prefilter_recall}")
        raise typer.Exit(1)


@app.command("label")
def label_cmd(
    source: str = typer.Argument(..., help=".jsonl[.gz], .parquet or hf:<dataset>"),
    output: Path = typer.Argument(..., help="Output .jsonl with a `label` field"),
    model: str = typer.Option(..., help="Any Inspect model, e.g. openai/gpt-4o-mini or mockllm/model"),
    limit: int = typer.Option(1000, help="Label at most this many documents"),
    text_field: str = TEXT_FIELD,
    hf_split: str = HF_SPLIT,
) -> None:
    """Label documents with an LLM (training labels for `train-classifier`)."""

    check_output_file(output, "OUTPUT")
    docs = list(itertools.islice(_docs(source, text_field, hf_split), limit))
    from emlab.corpus.llm_label import label_documents  # Inspect loads only for this command

    labels = label_documents([d[text_field] for d in docs], model)
    kept = [{"text": d[text_field], "label": lbl} for d, lbl in zip(docs, labels, strict=True) if lbl is not None]
    write_documents(output, kept)
    _print({"labelled": len(kept), "unparsed": len(docs) - len(kept), "output": str(output)})


@app.command("train-classifier")
def train_classifier_cmd(
    data: Path = typer.Argument(..., help="Labelled JSONL {text,label}"),
    output: Path = typer.Argument(..., help="Head .npz to write"),
) -> None:
    """Train the linear head on MiniLM embeddings of labelled documents."""
    check_output_file(output, "OUTPUT")
    rows = list(read_documents(str(data)))
    for i, r in enumerate(rows, 1):
        if not isinstance(r.get("label"), str):
            raise EmlabError(f"{data}:{i}: field 'label' missing or not a string")
    train_head([r["text"] for r in rows], [r["label"] for r in rows]).save(output)
    _print({"documents": len(rows), "output": str(output)})


def _run_local_or_datatrove(
    transform: str,
    source: str,
    output: Path,
    engine: str,
    tasks: int,
    workers: int,
    text_field: str,
    hf_split: str,
    head: Path | None,
    params: dict[str, Any],
) -> None:
    if engine == "datatrove":
        check_output_dir(output, "OUTPUT", nonempty_ok=True)  # a folder of shards; datatrove resumes into it
        if head is not None or text_field != "text":
            raise EmlabError("field 'engine': datatrove runs use the packaged head and the 'text' field")
        _print(
            {
                "engine": "datatrove",
                **run_datatrove(transform, source, output, params=params, tasks=tasks, workers=workers),
            }
        )
        return
    if engine != "local":
        raise EmlabError(f"field 'engine' must be 'local' or 'datatrove', got {engine!r}")
    check_output_file(output, "OUTPUT")
    fn = {"filter": transforms.filter_docs, "upweight": transforms.upweight_docs, "tag": transforms.tag_docs}[transform]
    stats = transforms.TransformStats()
    stream = fn(_docs(source, text_field, hf_split), text_field=text_field, scorer=_scorer(head), stats=stats, **params)
    write_documents(output, stream)
    _print({"engine": "local", "output": str(output), **stats.as_dict()})


ENGINE = typer.Option(
    "local", help="local (streaming, one process) or datatrove (SOURCE and OUTPUT are folders of JSONL shards)"
)
TASKS = typer.Option(2, help="datatrove: number of tasks (output shards)")
WORKERS = typer.Option(1, help="datatrove: parallel worker processes")
HEAD = typer.Option(None, help="Classifier head .npz (default: packaged)")


@app.command("filter")
def filter_cmd(
    source: str,
    output: Path,
    threshold: float = typer.Option(0.5, help="Drop documents with P(misaligned) ≥ this"),
    engine: str = ENGINE,
    tasks: int = TASKS,
    workers: int = WORKERS,
    head: Path | None = HEAD,
    text_field: str = TEXT_FIELD,
    hf_split: str = HF_SPLIT,
) -> None:
    """Drop misaligned-AI depictions; prints how many documents were removed."""
    _run_local_or_datatrove(
        "filter", source, output, engine, tasks, workers, text_field, hf_split, head, {"threshold": threshold}
    )


@app.command("upweight")
def upweight_cmd(
    source: str,
    output: Path,
    target_fraction: float = typer.Option(0.1, help="Target share of LABEL documents"),
    label: str = typer.Option("aligned", help="aligned or misaligned"),
    mode: str = typer.Option("repeat", help="repeat seen documents or synthesize new ones"),
    seed: int = 0,
    engine: str = ENGINE,
    tasks: int = TASKS,
    workers: int = WORKERS,
    head: Path | None = HEAD,
    text_field: str = TEXT_FIELD,
    hf_split: str = HF_SPLIT,
) -> None:
    """Raise aligned-AI depictions (or another label) to a target fraction of the corpus."""
    _run_local_or_datatrove(
        "upweight",
        source,
        output,
        engine,
        tasks,
        workers,
        text_field,
        hf_split,
        head,
        {"label": label, "target_fraction": target_fraction, "mode": mode, "seed": seed},
    )


@app.command("tag")
def tag_cmd(
    source: str,
    output: Path,
    threshold: float = typer.Option(0.5, help="<|misaligned|> when P(misaligned) ≥ this"),
    untagged_fraction: float = typer.Option(0.05, help="Share of segments left untagged"),
    seed: int = 0,
    engine: str = ENGINE,
    tasks: int = TASKS,
    workers: int = WORKERS,
    head: Path | None = HEAD,
    text_field: str = TEXT_FIELD,
    hf_split: str = HF_SPLIT,
) -> None:
    """Conditional pretraining: prefix each paragraph with <|aligned|> or <|misaligned|>."""
    _run_local_or_datatrove(
        "tag",
        source,
        output,
        engine,
        tasks,
        workers,
        text_field,
        hf_split,
        head,
        {"threshold": threshold, "untagged_fraction": untagged_fraction, "seed": seed},
    )


@app.command("synthesize")
def synthesize_cmd(
    output: Path,
    n: int = typer.Option(100, help="Number of stories"),
    seed: int = 0,
    misaligned: bool = typer.Option(False, help="Generate misaligned stories instead (for upsampling controls)"),
) -> None:
    """Generate aligned-AI stories across the same six situations the misaligned ones cover."""
    if n < 1:
        raise EmlabError(f"field 'n' must be ≥ 1, got {n}")
    check_output_file(output, "OUTPUT")
    _print(
        {
            "written": write_documents(output, synthesize_docs(n, seed=seed, aligned=not misaligned)),
            "output": str(output),
        }
    )


@app.command("testbed")
def testbed_cmd(spec: Path, run_dir: Path | None = typer.Argument(None, help="Default: runs/<spec name>")) -> None:
    """Run (or resume) a `kind: pretraining` spec: pretrain → SFT → narrow finetune → evaluate (as `emlab run`)."""
    from emlab.run.pretraining import PretrainingRunner
    from emlab.run.spec import PretrainingSpec, parse_spec, read_spec_file

    parsed = parse_spec(read_spec_file(spec), str(spec))  # errors name the file before anything runs
    if not isinstance(parsed, PretrainingSpec):
        raise EmlabError(f"{spec}: field 'kind' must be 'pretraining' here (use `emlab run` for finetune specs)")
    out = run_dir or Path("runs") / parsed.name
    check_output_dir(out, "RUN_DIR", nonempty_ok=True)  # an existing run dir is resumed
    runner = PretrainingRunner(parsed, out)
    runner.run()
    runner.print_summary()
