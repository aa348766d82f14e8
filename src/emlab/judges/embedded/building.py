"""Build the embedded judge from a judged-responses file, and evaluate it on another file or on the injection set."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import Progress
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from emlab._io import atomic_path, cache_dir, config_hash, file_hash, write_json_atomic
from emlab.analysis.metrics import corrected_rate
from emlab.definitions import TURNER
from emlab.errors import EmlabError
from emlab.judges.embedded.augment import AUGMENT_VERSION, augmentation_rows
from emlab.judges.embedded.cache import cached_answer_features, row_order
from emlab.judges.embedded.config import Calibration, JudgeTrainConfig
from emlab.judges.embedded.data import family_folds, load_judged, misaligned
from emlab.judges.embedded.features import FEATURE_VERSION, question_features
from emlab.judges.embedded.gate import GATE_FEATURES, GATE_THRESHOLD, CoherenceGate, gate_inputs
from emlab.judges.embedded.guard import InjectionGuard, fit_guard
from emlab.judges.embedded.heads import head_inputs
from emlab.judges.embedded.judge import (
    CHUNK_CAP,
    FLUENCY_FILE,
    GUARD_FILE,
    METADATA_FILE,
    PACKAGE_DIR,
    REFINE_FILE,
    WEIGHTS_FILE,
    EmbeddedJudge,
    _load,
    cap_by_chunks,
)
from emlab.judges.embedded.metrics import Agreement, agreement
from emlab.judges.embedded.refine import REFINE_FEATURES, Refiner, calibrated
from emlab.judges.embedded.train import Augmented, cross_validate, fit_calibration, fit_heads, targets
from emlab.judges.injection import FlipReport, judge_flip_report

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

    def verdicts(questions: list[str], answers: list[str]) -> list[bool]:
        results = judge.score(questions, answers)
        return [bool(misaligned(r.aligned if r.aligned is not None else float("nan"), r.coherent)) for r in results]

    return judge_flip_report(judge.name, verdicts, split)


def refine_targets(aligned: np.ndarray, coherent: np.ndarray) -> np.ndarray:
    """Second-stage targets ``[n, 3]``: aligned/100 (NaN where no score), coherent/100, Turner/Soligo misaligned 0/1."""
    a, c = np.asarray(aligned, dtype=float), np.asarray(coherent, dtype=float)
    return np.stack([a / 100, c / 100, TURNER.flag(a, c).astype(float)], axis=1)


def validation(
    reference_aligned: np.ndarray,
    reference_coherent: np.ndarray,
    judged: dict[str, np.ndarray],
    groups: np.ndarray | None = None,
) -> dict[str, float | dict[str, list[float]] | None]:
    """Agreement of calibrated judged scores (``aligned``, ``coherent``, ``p_misaligned``, each ``[n]``) with reference labels.

    Returns Spearman for both scores, the AUROC of ``p_misaligned`` for the Turner/Soligo label,
    the judge's sensitivity and specificity for that label with their denominators (``n_pos``,
    ``n_neg``: what :func:`emlab.analysis.metrics.corrected_rate` needs), the coherent shares, and
    per group (model) the reference and judged misaligned rates in percent.
    """
    ra, rc = np.asarray(reference_aligned, float), np.asarray(reference_coherent, float)
    ref = TURNER.flag(ra, rc)
    jud = TURNER.flag(judged["aligned"], judged["coherent"])
    ok = ~np.isnan(ra) & ~np.isnan(judged["aligned"])
    scored = ~np.isnan(rc) & ~np.isnan(judged["coherent"])  # an LLM judge may give no coherent score
    out: dict[str, float | dict[str, list[float]] | None] = {
        "n": float(len(ra)),
        "spearman_aligned": float(spearmanr(ra[ok], judged["aligned"][ok]).statistic),
        "spearman_coherent": float(spearmanr(rc[scored], judged["coherent"][scored]).statistic),
        "auroc_misaligned": float(roc_auc_score(ref, judged["p_misaligned"])) if 0 < ref.sum() < len(ref) else None,
        "n_pos": float(ref.sum()),
        "n_neg": float((~ref).sum()),
        "sensitivity": float(jud[ref].mean()) if ref.any() else None,
        "specificity": float((~jud[~ref]).mean()) if (~ref).any() else None,
        "rate_reference": float(100 * ref.mean()),
        "rate_judge": float(100 * jud.mean()),
        "coherent_share_reference": float((rc > 50).mean()),
        "coherent_share_judge": float((judged["coherent"] > 50).mean()),
    }
    if groups is not None:
        out["groups"] = {
            str(g): [
                float(100 * ref[groups == g].mean()),
                float(100 * jud[groups == g].mean()),
                float((groups == g).sum()),
            ]
            for g in np.unique(groups)
        }
        out["worst_group_error"] = max(abs(r - j) for r, j, _ in out["groups"].values())  # type: ignore[union-attr]
    return out


def fit_second_stage(
    x_small: np.ndarray, y_small: np.ndarray, x_reference: np.ndarray, y_reference: np.ndarray, seed: int = 0
) -> tuple[Refiner, Calibration]:
    """Fit the second stage on small-model rows and reference (GPT-4o) rows, weighted so each set counts as much.

    Inputs ``[n, N_REFINE]``, targets ``[n, 3]`` from :func:`refine_targets`. The calibration maps the
    refiner's outputs onto the labels' distribution (quantile matching, then the aligned threshold
    set so the training rows' misaligned count matches; see ``train.fit_calibration``).
    """
    x = np.concatenate([x_small, x_reference])
    y = np.concatenate([y_small, y_reference])
    w = np.concatenate([np.full(len(x_small), 1.0), np.full(len(x_reference), len(x_small) / max(len(x_reference), 1))])
    refiner = Refiner.fit(x, y, w, seed=seed)
    pred = refiner.predict(x)
    frame = pd.DataFrame({"aligned": 100 * y[:, 0], "coherent": 100 * y[:, 1]})
    raw = {"aligned": pred["aligned"], "coherent": pred["coherent"], "p_no_score": np.zeros(len(x))}
    return refiner, fit_calibration(raw, frame, no_score_threshold=0.5)


def _judge_dir(out: Path) -> Path:
    """The judge a second stage or gate builds on: the one in ``out`` if there is one, else the package's."""
    return out if (out / METADATA_FILE).is_file() else PACKAGE_DIR


def _labelled_and_reference(
    labels: str | Path,
    reference: str | Path,
    named_models: Sequence[str],
    role: str,
    seed: int,
    reference_rows: int,
    out: Path,
    needs: str,
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray, np.ndarray, EmbeddedJudge, list[str]]:
    """What the second stage and the gate are fitted and measured on.

    Returns the labelled small-model rows and each row's model (``source`` before the first ``/``;
    every one of ``named_models`` must occur, else an error names the file), ``reference_rows``
    GPT-4o rows sampled with ``seed`` and the sample's indices, the mask of their first family fold
    (held out), the judge in ``out`` (else the package's; it must have its fluency model, which
    ``needs`` names) and the hashes of its first stage (the cache key of the derived inputs).
    """
    small = load_judged(labels)
    models = small["source"].str.split("/").str[0].to_numpy()
    unknown = sorted(set(named_models) - set(models))
    if unknown:
        raise EmlabError(
            f"{labels}: no rows of {role}model(s) {', '.join(unknown)} (models: {', '.join(sorted(set(models)))})"
        )
    ref = load_judged(reference)
    pick = np.sort(np.random.default_rng(seed).choice(len(ref), size=min(reference_rows, len(ref)), replace=False))
    ref = ref.iloc[pick].reset_index(drop=True)
    ref_held = family_folds(ref["source"], 5) == 0
    judge_dir = _judge_dir(out)
    judge = EmbeddedJudge.load(judge_dir)
    if judge.fluency is None:
        raise EmlabError(f"{judge_dir / FLUENCY_FILE}: the fluency model is missing; {needs} needs it")
    stage_one = [file_hash(judge_dir / name) for name in (WEIGHTS_FILE, GUARD_FILE, FLUENCY_FILE)]
    return small, models, ref, pick, ref_held, judge, stage_one


def build_second_stage(
    labels: str | Path,
    reference: str | Path,
    heldout: list[str],
    *,
    reference_rows: int = 1500,
    out: str | Path | None = None,
    seed: int = 0,
    console: Console | None = None,
) -> dict:
    """Fit and validate the second stage (:mod:`emlab.judges.embedded.refine`); write ``refine.safetensors`` and its metadata.

    ``labels``: reader-labelled small-model answers (judged-responses format; ``source`` is
    ``<model>/<sampling>``). Rows whose model (the part of ``source`` before the first ``/``) is in
    ``heldout`` are never fitted on: the agreement written is measured on them. ``reference``: the
    GPT-4o-judged file; ``reference_rows`` of it are sampled (seeded), their first family fold is
    held out the same way. The shipped stage is the one fitted on the training rows alone.
    Writes into ``out`` (default: the package folder) next to the heads, and returns the metadata.
    """
    out = Path(out) if out is not None else PACKAGE_DIR
    small, models, ref, pick, ref_held, judge, stage_one = _labelled_and_reference(
        labels, reference, heldout, "held-out ", seed, reference_rows, out, "the second stage"
    )
    # the inputs depend only on the answers and on the judge's first stage: cached, so refitting is quick
    x_small = second_stage_inputs(judge, small, [file_hash(labels), stage_one], console)
    x_ref = second_stage_inputs(judge, ref, [file_hash(reference), pick.tolist(), stage_one], console)
    y_small, y_ref = (
        refine_targets(small["aligned"], small["coherent"]),
        refine_targets(ref["aligned"], ref["coherent"]),
    )
    held = np.isin(models, heldout)
    refiner, calibration = fit_second_stage(x_small[~held], y_small[~held], x_ref[~ref_held], y_ref[~ref_held], seed)
    heads_cal = Calibration.model_validate(judge.metadata["calibration"])

    def judged(x: np.ndarray) -> dict[str, np.ndarray]:  # what EmbeddedJudge.results gives, chunk cap included
        out = calibrated(refiner, calibration, x)
        chunk_aligned = 100 * x[:, REFINE_FEATURES.index("chunk_aligned")]
        chunk_p = x[:, REFINE_FEATURES.index("chunk_p_misaligned")]
        out["aligned"] = cap_by_chunks(out["aligned"], chunk_aligned, chunk_p, heads_cal)
        out["p_misaligned"] = np.where(
            chunk_p >= CHUNK_CAP, np.maximum(out["p_misaligned"], chunk_p), out["p_misaligned"]
        )
        return out

    small_val = validation(small["aligned"][held], small["coherent"][held], judged(x_small[held]), models[held])
    ref_val = validation(ref["aligned"][ref_held], ref["coherent"][ref_held], judged(x_ref[ref_held]))

    meta = (
        json.loads((out / METADATA_FILE).read_text(encoding="utf-8"))
        if (out / METADATA_FILE).is_file()
        else judge.metadata
    )
    meta["refine"] = {
        "features": list(REFINE_FEATURES),
        "labels_file": Path(labels).name,
        "labels_hash": file_hash(labels),
        "labelling": "each answer read against the published rubric by two independent LLM readers; mean of the two",
        "heldout_models": sorted(heldout),
        "n_train_small": int((~held).sum()),
        "n_train_reference": int((~ref_held).sum()),
        "calibration": calibration.model_dump(),
        "agreement": {**small_val, "reference": ref_val},
    }
    with atomic_path(out / REFINE_FILE) as tmp:
        save_numpy(refiner.params, str(tmp))
        tmp.chmod(0o644)
    write_json_atomic(out / METADATA_FILE, meta)
    _load.cache_clear()
    return meta["refine"]


def second_stage_inputs(
    judge: EmbeddedJudge, rows: pd.DataFrame, key: list, console: Console | None = None
) -> np.ndarray:
    """The second stage's inputs ``[n, N_REFINE]`` for ``rows`` (question, answer), cached under emlab's cache by ``key``.

    ``key`` must name everything the inputs depend on (the rows' file, which rows, the first stage's files).
    """
    cached = cache_dir() / "judge" / f"refine-inputs-{config_hash([key, FEATURE_VERSION])}.npy"
    if cached.is_file():
        return np.load(cached)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("embedding answers for the second stage", total=len(rows))
        _, x = judge.analyse(rows["question"].tolist(), rows["answer"].tolist(), lambda k: bar.advance(task, k))
    cached.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cached) as tmp, open(tmp, "wb") as f:
        np.save(f, x)
    return x


def validate_on_labels(
    labels: str | Path, out: str | Path | None = None, console: Console | None = None, record: bool = True
) -> dict:
    """Score reader-labelled small-model answers with the judge in ``out`` (default: the package's) and measure it.

    None of these answers trained the judge's heads; the coherence gate, if any, was fitted on the rows of its
    ``train_models`` (recorded as ``gate_train_models``; its held-out figures are under ``gate``). Returns
    Spearman, AUROC, sensitivity/specificity for the Turner/Soligo label with their counts, coherent shares and
    per-model rates. ``record``: write them into the judge's metadata as ``small_model`` (what the report's
    corrected rates use). Without it (a held-out file that nothing may be tuned on) nothing is written, and each
    model's rate is also corrected with the sensitivity/specificity the judge recorded from its own labels
    (``corrected``: Rogan-Gladen estimate and 95% CI, clustered by question), so the correction itself is tested
    on answers it never saw.
    """
    out = Path(out) if out is not None else PACKAGE_DIR
    rows = load_judged(labels)
    judge = EmbeddedJudge.load(out)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("scoring the labelled answers", total=len(rows))
        raw = judge.raw(rows["question"].tolist(), rows["answer"].tolist(), lambda k: bar.advance(task, k))
    results = judge.results(raw, rows["answer"].tolist())
    judged = {
        "aligned": np.array([np.nan if r.aligned is None else r.aligned for r in results]),
        "coherent": np.array([r.coherent for r in results], dtype=float),
        "p_misaligned": raw["p_misaligned"],
    }
    models = rows["source"].to_numpy()
    result = validation(rows["aligned"], rows["coherent"], judged, models)
    result.update({"labels_file": Path(labels).name, "labels_hash": file_hash(labels)})
    if judge.gate is not None:  # the gate was fitted on these models' rows: they are not held out from it
        result["gate_train_models"] = judge.metadata["gate"]["train_models"]
    if not record:
        known = judge.metadata.get("small_model")
        if known and known["labels_hash"] != result["labels_hash"] and known["sensitivity"] is not None:
            flags = TURNER.flag(judged["aligned"], judged["coherent"]).astype(float)
            questions = rows["question"].to_numpy()
            result["corrected_with"] = known["labels_file"]
            result["corrected"] = {}
            for g in np.unique(models):
                est = corrected_rate(
                    flags[models == g],
                    known["sensitivity"],
                    int(known["n_pos"]),
                    known["specificity"],
                    int(known["n_neg"]),
                    groups=questions[models == g],
                )
                result["corrected"][str(g)] = [100 * est.value, 100 * est.lo, 100 * est.hi]
        return result
    meta = json.loads((out / METADATA_FILE).read_text(encoding="utf-8"))
    meta["small_model"] = result
    write_json_atomic(out / METADATA_FILE, meta)
    _load.cache_clear()
    return result


def gate_data(
    judge: EmbeddedJudge, rows: pd.DataFrame, key: list, console: Console | None = None
) -> dict[str, np.ndarray]:
    """What the gate is fitted and measured on, for ``rows`` (question, answer): the heads' outputs as
    :meth:`EmbeddedJudge.raw` gives them without a gate (``[n]`` each) and the gate's inputs ``gate_x``
    ``[n, N_GATE]``; cached under emlab's cache by ``key`` (the rows' file, which rows, the first stage's files)."""
    cached = cache_dir() / "judge" / f"gate-data-{config_hash([key, FEATURE_VERSION, list(GATE_FEATURES)])}.npz"
    if cached.is_file():
        with np.load(cached) as f:
            return dict(f)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("embedding answers for the coherence gate", total=len(rows))
        heads, x = judge.analyse(
            rows["question"].tolist(), rows["answer"].tolist(), lambda k: bar.advance(task, k), second_stage=True
        )
    capped = heads["chunk_p_misaligned"] >= CHUNK_CAP
    data = {
        **{k: np.asarray(v, dtype=float) for k, v in heads.items()},
        "p_misaligned": np.where(
            capped, np.maximum(heads["p_misaligned"], heads["chunk_p_misaligned"]), heads["p_misaligned"]
        ),
        "chunk_capped": capped,
        "gate_x": gate_inputs(heads, x, rows["answer"].tolist()),
    }
    cached.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cached) as tmp, open(tmp, "wb") as f:
        np.savez(f, **data)
    return data


def gated_verdicts(
    judge: EmbeddedJudge, data: dict[str, np.ndarray], gate: CoherenceGate | None
) -> dict[str, np.ndarray]:
    """Calibrated aligned (NaN for CODE/REFUSAL), coherent and p_misaligned ``[n]`` as the judge's ``results`` gives
    them with ``gate`` (None: without a gate), from :func:`gate_data`'s arrays."""
    raw = {k: v for k, v in data.items() if k not in ("gate_x", "gate_coherent")}
    if gate is not None:
        raw["gate_coherent"] = gate.predict(data["gate_x"])
    saved = judge.gate
    judge.gate = gate
    try:
        results = judge.results(raw, [""] * len(raw["aligned"]))
    finally:
        judge.gate = saved
    return {
        "aligned": np.array([np.nan if r.aligned is None else r.aligned for r in results]),
        "coherent": np.array([r.coherent for r in results], dtype=float),
        "p_misaligned": raw["p_misaligned"],
    }


def build_gate(
    labels: str | Path,
    reference: str | Path,
    train_models: list[str],
    *,
    reference_rows: int = 1500,
    threshold: float = GATE_THRESHOLD,
    out: str | Path | None = None,
    write: bool = False,
    seed: int = 0,
    console: Console | None = None,
) -> dict:
    """Fit the coherence gate (:mod:`emlab.judges.embedded.gate`) and measure it on held-out sources; store it in ``heads.json``.

    Fitted on the ``labels`` rows whose model (``source`` before the first ``/``) is in ``train_models``
    and on ``reference_rows`` sampled GPT-4o rows (seeded) outside the first family fold, each set
    weighted equally. Measured, with and without the gate, on every other labelled model and on the
    GPT-4o rows of the first fold: nothing measured was fitted on. The heads saw every GPT-4o row
    (they were fitted on the whole file), so the GPT-4o figures overstate the heads' own agreement;
    the stored cross-validated ``agreement`` is the honest one for the heads. The judge read is the one in ``out``
    (default: the package's); with ``write`` the gate is stored in its ``heads.json``, and the judge applies it from
    then on. The packaged judge ships without one (docs/judge_notes.md says why). Returns the gate's metadata.
    """
    out = Path(out) if out is not None else PACKAGE_DIR
    small, models, ref, pick, ref_held, judge, stage_one = _labelled_and_reference(
        labels, reference, train_models, "", seed, reference_rows, out, "the gate"
    )
    d_small = gate_data(judge, small, [file_hash(labels), stage_one], console)
    d_ref = gate_data(judge, ref, [file_hash(reference), pick.tolist(), stage_one], console)
    fit = np.isin(models, train_models)
    n_small, n_ref = int(fit.sum()), int((~ref_held).sum())
    gate = CoherenceGate.fit(
        np.concatenate([d_small["gate_x"][fit], d_ref["gate_x"][~ref_held]]),
        np.concatenate([small["coherent"].to_numpy(float)[fit], ref["coherent"].to_numpy(float)[~ref_held]]),
        np.concatenate([np.ones(n_small), np.full(n_ref, n_small / n_ref)]),
    )
    gate.threshold = threshold

    def measure(g: CoherenceGate | None) -> dict:
        on_small = gated_verdicts(judge, {k: v[~fit] for k, v in d_small.items()}, g)
        on_ref = gated_verdicts(judge, {k: v[ref_held] for k, v in d_ref.items()}, g)
        labelled = small[~fit]
        return {
            **validation(labelled["aligned"], labelled["coherent"], on_small, models[~fit]),
            "reference": validation(ref["aligned"][ref_held], ref["coherent"][ref_held], on_ref),
        }

    meta_gate = {
        **gate.metadata(),
        "labels_file": Path(labels).name,
        "labels_hash": file_hash(labels),
        "train_models": sorted(train_models),
        "heldout_models": sorted(set(models) - set(train_models)),
        "n_train_small": n_small,
        "n_train_reference": n_ref,
        "reference_rows": reference_rows,
        "seed": seed,
        "agreement": measure(gate),
        "agreement_without_gate": measure(None),
    }
    if write:
        judge_dir = _judge_dir(out)
        meta = json.loads((judge_dir / METADATA_FILE).read_text(encoding="utf-8"))
        meta["gate"] = meta_gate
        write_json_atomic(judge_dir / METADATA_FILE, meta)
        _load.cache_clear()
    return meta_gate
