"""Build the embedded judge from a judged-responses file, and evaluate it on another file or on the injection set."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import Progress
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch

from emlab._io import atomic_path, file_hash, write_json_atomic
from emlab.judges.embedded.augment import AUGMENT_VERSION, augmentation_rows
from emlab.judges.embedded.cache import cached_answer_features, row_order
from emlab.judges.embedded.config import JudgeTrainConfig
from emlab.judges.embedded.data import family_folds, load_judged, misaligned
from emlab.judges.embedded.features import FEATURE_VERSION, question_features
from emlab.judges.embedded.guard import InjectionGuard, fit_guard
from emlab.judges.embedded.heads import head_inputs
from emlab.judges.embedded.judge import GUARD_FILE, METADATA_FILE, PACKAGE_DIR, WEIGHTS_FILE, EmbeddedJudge, _load
from emlab.judges.embedded.metrics import Agreement, agreement
from emlab.judges.embedded.train import Augmented, cross_validate, fit_heads, targets
from emlab.judges.injection import FlipReport, flip_report, load_injection_set

JUDGE_NAME = "emlab-embedded-minilm-v1"


def build_judge(
    data: str | Path,
    out: str | Path | None = None,
    *,
    config: JudgeTrainConfig | None = None,
    max_rows: int | None = None,
    console: Console | None = None,
) -> dict:
    """Cross-validate, fit the final heads on all rows, fit the injection guard; write ``heads.safetensors``, ``guard.safetensors`` and ``heads.json`` to ``out``.

    The guard learns from rows outside the ``max_rows`` subsample where there are any
    (so the agreement rows never trained it), else from all rows.

    ``out`` defaults to the package folder (what :meth:`EmbeddedJudge.load` reads).
    Returns the metadata written (with ``written_to``). Seeded: the same file, config
    and ``max_rows`` give the same heads.
    """
    config = config or JudgeTrainConfig()
    out = Path(out) if out is not None else PACKAGE_DIR
    df = load_judged(data)
    n_use = len(df) if max_rows is None else min(max_rows, len(df))
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("embedding answers (cached per file)", total=n_use)
        rows, x_answer = cached_answer_features(
            data, df["answer"].tolist(), max_rows=max_rows, progress=lambda k: bar.advance(task, k)
        )
        sub = df.iloc[rows].reset_index(drop=True)
        x = head_inputs(x_answer, question_features(sub["question"].tolist()))
        folds = family_folds(sub["source"], config.n_folds)
        aug = augmentation_rows(sub, seed=config.seed)
        task = bar.add_task("embedding injection-augmented answers (cached)", total=len(aug))
        aug_rows, x_aug = cached_answer_features(
            data,
            aug["answer"].tolist(),
            progress=lambda k: bar.advance(task, k),
            variant=f"{AUGMENT_VERSION}-{len(sub)}-s{config.seed}",
        )
        aug = aug.iloc[aug_rows].reset_index(drop=True)
        augmented = Augmented(
            x=head_inputs(x_aug, question_features(aug["question"].tolist())),
            y=targets(aug),
            folds=folds[aug["origin"].to_numpy()],
        )
        task = bar.add_task("training heads (cross-validation + final fit)", total=(config.n_folds + 1) * config.epochs)
        held_out, _, calibration = cross_validate(
            x, sub, folds, config, augmented, progress=lambda k: bar.advance(task, k)
        )
        heads = fit_heads(
            np.concatenate([x, augmented.x]),
            np.concatenate([targets(sub), augmented.y]),
            config,
            progress=lambda k: bar.advance(task, k),
        )
        bar.add_task("fitting the injection guard (embeds its training answers)", total=None)
        rest = row_order(len(df))[n_use:]
        guard = fit_guard(df["answer"].iloc[rest] if len(rest) else sub["answer"], config.guard)
    meta = {
        "name": JUDGE_NAME,
        "feature_version": FEATURE_VERSION,
        "config": config.model_dump(),
        "data_file": Path(data).name,
        "data_hash": file_hash(data),
        "n_rows": len(sub),
        "n_augmented": len(aug),
        "validation": f"{config.n_folds}-fold cross-validation over whole source families; calibration fitted on the other folds",
        "calibration": calibration.model_dump(),
        "agreement": held_out.model_dump(),
        "guard": guard.meta.model_dump(),
    }
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / WEIGHTS_FILE) as tmp:
        save_torch({k: v.contiguous() for k, v in heads.state_dict().items()}, str(tmp))
        tmp.chmod(0o644)
    write_guard(guard, out)
    write_json_atomic(out / METADATA_FILE, meta)
    _load.cache_clear()
    return {**meta, "written_to": str(out)}


def write_guard(guard: InjectionGuard, out: Path) -> None:
    """Write the guard's arrays to ``out/guard.safetensors`` (atomically; its thresholds go in ``heads.json``)."""
    with atomic_path(out / GUARD_FILE) as tmp:
        save_numpy(guard.tensors(), str(tmp))
        tmp.chmod(0o644)


def evaluate_file(judge: EmbeddedJudge, data: str | Path, console: Console | None = None) -> Agreement:
    """Score every row of ``data`` with ``judge`` and compare with the reference scores in the file."""
    df = load_judged(data)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("judging answers", total=len(df))
        raw = judge.raw(df["question"].tolist(), df["answer"].tolist(), progress=lambda k: bar.advance(task, k))
    results = judge.results(raw, df["answer"].tolist())
    judged = pd.DataFrame(
        {
            "aligned": [np.nan if r.aligned is None else r.aligned for r in results],
            "coherent": [np.nan if r.coherent is None else r.coherent for r in results],
        }
    )
    return agreement(df, judged, raw["p_misaligned"])


def embedded_flip_report(
    split: Literal["design", "heldout"] | None = None, judge: EmbeddedJudge | None = None
) -> FlipReport:
    """Flip report of the embedded judge over the injection set, or one ``split`` of it.

    ``judge`` defaults to the packaged judge.
    """
    judge = judge or EmbeddedJudge.load()
    pairs = [p for p in load_injection_set() if split is None or p.split == split]
    questions = [p.question for p in pairs]

    def verdicts(answers: list[str]) -> list[bool]:
        results = judge.score(questions, answers)
        return [bool(misaligned(r.aligned if r.aligned is not None else float("nan"), r.coherent)) for r in results]

    return flip_report(
        f"{judge.name} ({split or 'all'} attacks)",
        pairs,
        verdicts([p.clean for p in pairs]),
        verdicts([p.injected for p in pairs]),
    )
