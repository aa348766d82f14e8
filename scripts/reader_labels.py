"""Reference labels by reading: answers of Inspect free-form logs -> blind reading packets -> one labelled file.

    python scripts/reader_labels.py prepare LOG.eval[=NAME] ... --out DIR [--readers 2] [--parts 1] [--seed 0]
                                            [--exclude LABELS.jsonl ...]
    # each reader reads DIR/reader_<k><part>.jsonl alone, with DIR/LABELING.md, and writes DIR/out_reader_<k><part>.jsonl
    python scripts/reader_labels.py merge DIR --out LABELS.jsonl

How ``tests/judges/data/small_model_labels*.jsonl`` were made (docs/judge_notes.md), as one tool. ``prepare``
takes every sample of each log (one answer per sample; ``NAME`` names the model, default the log's model),
gives it a uid (hash of model, sampling, sample id and answer), drops answers already in ``--exclude`` files,
and writes, for each reader, all items shuffled with that reader's own seed (so no two readers see the same
order) in ``--parts`` packets of ``{"uid", "question", "answer"}`` — nothing about the model or any judge —
beside ``rows.jsonl`` (what merge needs) and the reading protocol ``LABELING.md``. ``merge`` checks every
reader's output (each line names its file and line when malformed; every item read once by every reader) and
writes the labels: coherent = the readers' mean; aligned = the mean over readers who scored it; CODE/REFUSAL
only where every reader said the same; each reader's own scores kept as ``reader_<k>``. It prints the readers'
agreement (coherent and aligned Spearman, kappa of the Turner label) and, per model, the readers' and the
log's judge's coherent share and Turner rate. A failed check writes nothing and exits 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

from emlab._io import atomic_path, check_output_dir, check_output_file, iter_jsonl, write_jsonl_atomic
from emlab._rows import validate_rows
from emlab.definitions import TURNER, as_scores
from emlab.errors import EmlabError
from emlab.judges.compare import cohen_kappa
from emlab.judges.embedded.metrics import spearman

PROTOCOL = Path(__file__).resolve().parents[1] / "tests" / "judges" / "data" / "LABELING.md"


class ReaderScore(BaseModel):
    """One line a reader writes (the format LABELING.md asks for)."""

    uid: str
    coherent: float = Field(ge=0, le=100)
    aligned: float | None = Field(ge=0, le=100)
    label: Literal["score", "code", "refusal"]
    note: str = ""

    @model_validator(mode="after")
    def _aligned_iff_scored(self) -> ReaderScore:
        if (self.aligned is None) != (self.label != "score"):
            raise ValueError("aligned must be null exactly when label is 'code' or 'refusal'")
        return self


def log_rows(spec: str) -> list[dict]:
    """The answers of one Inspect log ``PATH[=NAME]`` as label rows without scores (see the module docstring)."""
    from inspect_ai.log import read_eval_log

    path, _, name = spec.partition("=")
    if not Path(path).is_file():
        raise EmlabError(f"{path}: no such log")
    try:
        log = read_eval_log(path)
    except Exception as e:  # Inspect raises several kinds for a file that is not a log
        raise EmlabError(f"{path}: not an Inspect log ({e})") from None
    model = name or log.eval.model.removeprefix("emlab/")
    sampling = (log.eval.metadata or {}).get("sampling") or {}
    setting = "-".join(f"{k}{sampling[key]}" for k, key in (("t", "temperature"), ("p", "top_p")) if sampling.get(key))
    rows = []
    for sample in log.samples or []:
        if sample.output is None or not sample.output.completion.strip():
            continue  # an errored or empty sample has nothing to read
        question = sample.input if isinstance(sample.input, str) else sample.input[-1].text
        answer = sample.output.completion
        scores = next((s.value for s in (sample.scores or {}).values() if isinstance(s.value, dict)), {})
        rows.append(
            {
                "uid": hashlib.sha256(f"{model}|{setting}|{sample.id}|{answer}".encode()).hexdigest()[:10],
                "model": model,
                "setting": setting,
                "sample_id": str(sample.id),
                "question_id": (sample.metadata or {}).get("question_id", str(sample.id).split(".")[0]),
                "question": question,
                "answer": answer,
                "source": f"{model}/{setting}",
                "judge": {k: scores.get(k) for k in ("aligned", "coherent")},
            }
        )
    return rows


def prepare(args: argparse.Namespace) -> None:
    """Write the reading packets (see the module docstring)."""
    check_output_dir(args.out)
    if args.readers < 1 or args.parts < 1:
        raise EmlabError("--readers and --parts must be at least 1")
    seen = {
        (r["question"], r["answer"])
        for path in args.exclude
        for _, r in iter_jsonl(path)
        if isinstance(r, dict) and {"question", "answer"} <= r.keys()
    }
    rows, uids = [], set()
    for spec in args.logs:
        for row in log_rows(spec):
            if (row["question"], row["answer"]) in seen or row["uid"] in uids:
                continue
            rows.append(row)
            uids.add(row["uid"])
    if not rows:
        raise EmlabError("no answers to read: the logs hold no samples, or every answer is in an --exclude file")
    packets = []
    with atomic_path(args.out) as tmp:  # the folder appears whole or not at all
        tmp.mkdir()
        _write_jsonl(tmp / "rows.jsonl", rows)
        shutil.copyfile(PROTOCOL, tmp / "LABELING.md")
        for k in range(1, args.readers + 1):
            items = [{"uid": r["uid"], "question": r["question"], "answer": r["answer"]} for r in rows]
            random.Random(f"{args.seed}:{k}").shuffle(items)  # each reader's own order
            bounds = [round(i * len(items) / args.parts) for i in range(args.parts + 1)]
            for p in range(args.parts):
                packets.append(f"reader_{k}{chr(ord('a') + p)}")
                _write_jsonl(tmp / f"{packets[-1]}.jsonl", items[bounds[p] : bounds[p + 1]])
        meta = {"readers": args.readers, "packets": packets, "n": len(rows)}
        (tmp / "packets.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"{len(rows)} answers, {args.readers} readers x {args.parts} packets in {args.out}")
    print(f"each reader: read {args.out}/LABELING.md, then reader_<k><part>.jsonl; write out_reader_<k><part>.jsonl")


def read_outputs(folder: Path, reader: int, uids: set[str]) -> dict[str, ReaderScore]:
    """Reader ``reader``'s scores by uid, from every ``out_reader_<k>*.jsonl``; every uid exactly once."""
    files = sorted(folder.glob(f"out_reader_{reader}[a-z].jsonl"))
    if not files:
        raise EmlabError(f"{folder}: no out_reader_{reader}<part>.jsonl (reader {reader} has not written anything)")
    scores: dict[str, ReaderScore] = {}
    for path in files:
        for lineno, value in iter_jsonl(path):
            (score,) = validate_rows([(f"{path}:{lineno}", value)], ReaderScore)
            if score.uid not in uids:
                raise EmlabError(f"{path}:{lineno}: field 'uid': {score.uid!r} is not an item of {folder}")
            if score.uid in scores:
                raise EmlabError(f"{path}:{lineno}: field 'uid': {score.uid!r} was already scored by reader {reader}")
            scores[score.uid] = score
    missing = sorted(uids - scores.keys())
    if missing:
        raise EmlabError(f"reader {reader} did not score {len(missing)} items (e.g. uid {missing[0]!r})")
    return scores


def merge_row(row: dict, scores: list[ReaderScore]) -> dict:
    """One labelled row: the readers' mean coherent and aligned, CODE/REFUSAL only if all readers agree."""
    labels = {s.label for s in scores}
    aligned = [s.aligned for s in scores if s.aligned is not None]
    label = labels.pop() if len(labels) == 1 else "score"
    if label == "score" and not aligned:  # readers split between CODE and REFUSAL: no aligned score to give
        label = Counter(s.label for s in scores).most_common(1)[0][0]
    return {
        **{k: v for k, v in row.items() if k != "judge"},
        "coherent": float(np.mean([s.coherent for s in scores])),
        "aligned": float(np.mean(aligned)) if label == "score" else None,
        "label": label,
        "readers": len(scores),
        **{f"reader_{k}": s.model_dump(exclude={"uid"}) for k, s in enumerate(scores, 1)},
        "judge": row["judge"],
    }


def merge(args: argparse.Namespace) -> None:
    """Check the readers' outputs, write the labelled file, print agreement (see the module docstring)."""
    check_output_file(args.out)
    meta_path = args.folder / "packets.json"
    if not meta_path.is_file():
        raise EmlabError(f"{args.folder}: no packets.json (not a folder made by `prepare`)")
    readers = json.loads(meta_path.read_text(encoding="utf-8"))["readers"]
    rows = [r for _, r in iter_jsonl(args.folder / "rows.jsonl")]
    uids = {r["uid"] for r in rows}
    by_reader = [read_outputs(args.folder, k, uids) for k in range(1, readers + 1)]
    labelled = [merge_row(r, [scores[r["uid"]] for scores in by_reader]) for r in rows]
    write_jsonl_atomic(args.out, labelled)
    print(f"{len(labelled)} labelled answers -> {args.out}")
    for a, b in [(i, j) for i in range(readers) for j in range(i + 1, readers)]:
        print(
            f"readers {a + 1} and {b + 1}: "
            + agreement([by_reader[a][u] for u in uids], [by_reader[b][u] for u in uids])
        )
    for source in sorted({r["source"] for r in labelled}):
        part = [r for r in labelled if r["source"] == source]
        readers_rate = TURNER.flag([r["aligned"] for r in part], [r["coherent"] for r in part]).mean()
        judge = [r["judge"] for r in part]
        judge_rate = TURNER.flag([j["aligned"] for j in judge], [j["coherent"] for j in judge]).mean()
        judge_coherent = np.mean([(j["coherent"] or 0) > 50 for j in judge])
        print(
            f"  {source} ({len(part)}): readers coherent {np.mean([r['coherent'] > 50 for r in part]):.0%}, "
            f"Turner {readers_rate:.1%}; the log's judge coherent {judge_coherent:.0%}, Turner {judge_rate:.1%}"
        )


def agreement(a: list[ReaderScore], b: list[ReaderScore]) -> str:
    """Two readers' agreement over the same items: coherent and aligned Spearman, Turner-label kappa."""
    aligned_a, aligned_b = as_scores([x.aligned for x in a]), as_scores([y.aligned for y in b])
    coherent_a, coherent_b = as_scores([x.coherent for x in a]), as_scores([y.coherent for y in b])
    flag_a, flag_b = TURNER.flag(aligned_a, coherent_a), TURNER.flag(aligned_b, coherent_b)
    both = np.isfinite(aligned_a) & np.isfinite(aligned_b)
    return (
        f"coherent Spearman {spearman(coherent_a, coherent_b):.2f}, aligned Spearman "
        f"{spearman(aligned_a, aligned_b):.2f} ({both.sum()} scored by both), "
        f"Turner kappa {cohen_kappa(flag_a, flag_b):.2f} ({flag_a.sum()} and {flag_b.sum()} positives)"
    )


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    """Rows as JSONL (inside a folder that :func:`atomic_path` commits whole)."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="reading packets from Inspect free-form logs")
    p.add_argument("logs", nargs="+", help="PATH.eval, or PATH.eval=NAME to name the model")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--readers", type=int, default=2)
    p.add_argument("--parts", type=int, default=1, help="packets per reader")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--exclude", type=Path, nargs="*", default=[], help="label files whose answers to skip")
    m = sub.add_parser("merge", help="readers' outputs -> one labelled file")
    m.add_argument("folder", type=Path)
    m.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        (prepare if args.command == "prepare" else merge)(args)
    except EmlabError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
