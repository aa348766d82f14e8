"""The runner of ``kind: pretraining`` specs: the self-fulfilling-misalignment testbed under ``emlab run``.

Layout of ``runs/<name>/``::

    spec.yaml                       the spec as validated
    tokenizer/<hash>/               the testbed's BPE (first seed's baseline corpus + the chats)
    corpora/<condition>-seed<s>-<hash>.jsonl   each condition × seed pretraining corpus
    models/{pretrain,sft,narrow,rl}-<hash>/    each model (emlab_stage.json marks it finished)
    scores/<model_id>__<hash>.jsonl one row per held-out choice of each evaluated model
    samples/<hash>.json             one greedy answer per situation of each evaluated model
    manifest.json                   every evaluated model, its identity columns and absolute paths
    results.parquet                 the tidy table (:func:`emlab.analysis.results.results_table`)
    sfm_summary.json                per-condition summary, pre-registered comparisons, wall time

Stages run in order, each as jobs on the spec's executor (one at a time here, in worker
processes, or on Ray): tokenizer → corpora (one job per seed) → pretrain → SFT → narrow
finetune → RL (one job per RL prompt condition: stages ``rl`` and ``rl_inoculated``,
:mod:`emlab.corpus.testbed_rl`) → scores (one job per condition × seed × stage). Every path holds a hash of all that
made it, with the training precisions resolved where the jobs run, so a re-run (on any
executor) does only what is missing.

Each pre-registered comparison is computed with seeds as the unit (:mod:`emlab.analysis.seeds`):
per seed the mean P(misaligned) over the comparison's situations (at each side's stage: ``b_stage``
compares two stages of one condition, e.g. after RL vs after SFT), then the mean difference
with a CI that resamples seeds and the minimum detectable effect at that number of seeds.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table

from emlab._io import config_hash, file_hash, write_json_atomic, write_text_atomic
from emlab.analysis.metrics import holm
from emlab.analysis.results import results_table
from emlab.analysis.seeds import MIN_SEEDS_FOR_CI, compare_seeds, seed_means, seeds_for_effect
from emlab.corpus.classifier import packaged_head_path
from emlab.corpus.generate import GENERATOR_VERSION
from emlab.corpus.testbed import (
    STAGE_FILE,
    TASK,
    finetune,
    make_corpora,
    make_tokenizer,
    pretrain,
    rl_finetune,
    score_choices,
    summarize,
)
from emlab.corpus.testbed_rl import RL_VERSION
from emlab.corpus.testbed_rl import STAGES as RL_STAGES
from emlab.corpus.world import SITUATION_NAMES
from emlab.run.base import BaseRunner
from emlab.run.executor import Job
from emlab.run.spec import ComparisonSpec, PretrainingSpec

BASE_MODEL = "scratch"  # the results table's base_model: a tiny Llama pretrained from scratch


@dataclass
class Chain:
    """One condition × seed: its corpus and the paths and keys of its models and scores."""

    condition: str
    seed: int
    corpus: Path
    pretrain: Path
    pretrain_key: str
    sft: Path
    sft_key: str
    narrow: Path | None = None
    narrow_key: str | None = None
    rl: dict[str, Path] = field(default_factory=dict)  # RL prompt condition -> model dir
    rl_keys: dict[str, str] = field(default_factory=dict)


@dataclass
class Evaluated:
    """An evaluated model (one row set in the results table): a chain after SFT, the narrow finetune or RL."""

    model_id: str
    condition: str
    seed: int
    stage: str
    model_path: Path
    model_hash: str
    corpus: Path
    scores: Path
    samples: Path
    narrow_situation: str | None
    rl_situation: str | None = None

    def labels(self) -> dict[str, Any]:
        """The identity columns of this model in the results table."""
        rl = self.stage in RL_STAGES.values()
        train_set = {"posttrain": "sft", "narrow_ft": f"sft+narrow-{self.narrow_situation}"}.get(
            self.stage, f"sft+{self.stage}-{self.rl_situation}"
        )
        return {
            "model_id": self.model_id,
            "base_model": BASE_MODEL,
            "train_set": train_set,
            "condition": self.condition,
            "condition_kind": "pretraining-corpus",
            "seed": self.seed,
            "stage": self.stage,
            "config_hash": self.model_hash,
            "narrow_situation": self.narrow_situation if self.stage == "narrow_ft" else None,
            "rl_situation": self.rl_situation if rl else None,
        }


def _done(model_dir: Path) -> bool:
    return (model_dir / STAGE_FILE).is_file()


class PretrainingRunner(BaseRunner):
    """Runs a :class:`PretrainingSpec` in ``run_dir``, skipping every artifact that exists."""

    spec: PretrainingSpec

    def __init__(
        self, spec: PretrainingSpec, run_dir: Path, console: Console | None = None, display: str = "rich"
    ) -> None:
        super().__init__(spec, run_dir, console, display)
        # what a condition's documents depend on: the corpus config, the generators and the classifier head
        self.corpus_key = config_hash(
            {
                "corpus": spec.corpus.model_dump(),
                "generator": GENERATOR_VERSION,
                "head": file_hash(packaged_head_path()),
            }
        )
        self.chains: list[Chain] = []
        self.evaluated: list[Evaluated] = []
        self.configs: dict[str, Any] = {}  # each stage's training config as keyed and run (set by plan)

    # -- planning -----------------------------------------------------------------------------
    @property
    def tokenizer_dir(self) -> Path:
        """The tokenizer's dir: keyed by everything its training texts and vocabulary depend on."""
        spec = self.spec
        key = config_hash(
            {
                "corpus": self.corpus_key,
                "seed": spec.seeds[0],
                "vocab": spec.model.vocab_size,
                "sft": spec.sft.n_chats,
                "narrow": [spec.narrow.situation, spec.narrow.n_chats] if spec.narrow else None,
            }
        )
        return self.run_dir / "tokenizer" / key

    def plan(self) -> None:
        """Compute every artifact's path (and key) for the spec's grid."""
        spec = self.spec
        pre_cfg, sft_cfg = self.resolve_train_config(spec.pretrain), self.resolve_train_config(spec.sft)
        narrow_cfg = self.resolve_train_config(spec.narrow) if spec.narrow else None
        rl_cfg = self.resolve_train_config(spec.rl) if spec.rl else None
        self.configs = {"pretrain": pre_cfg, "sft": sft_cfg, "narrow": narrow_cfg, "rl": rl_cfg}
        models = self.run_dir / "models"
        self.chains, self.evaluated = [], []
        for condition in spec.conditions:
            for seed in spec.seeds:
                pre_key = config_hash(
                    {
                        "stage": "pretrain",
                        "condition": condition,
                        "seed": seed,
                        "corpus": self.corpus_key,
                        "model": spec.model.model_dump(),
                        "train": pre_cfg.model_dump(),
                        "tokenizer": self.tokenizer_dir.name,
                    }
                )
                sft_key = config_hash(
                    {"stage": "sft", "parent": pre_key, "train": sft_cfg.model_dump(), "generator": GENERATOR_VERSION}
                )
                chain = Chain(
                    condition=condition,
                    seed=seed,
                    corpus=self.run_dir / "corpora" / f"{condition}-seed{seed}-{self.corpus_key}.jsonl",
                    pretrain=models / f"pretrain-{pre_key}",
                    pretrain_key=pre_key,
                    sft=models / f"sft-{sft_key}",
                    sft_key=sft_key,
                )
                stages = [("posttrain", chain.sft, sft_key)]
                if narrow_cfg is not None:
                    chain.narrow_key = config_hash(
                        {
                            "stage": "narrow",
                            "parent": sft_key,
                            "train": narrow_cfg.model_dump(),
                            "generator": GENERATOR_VERSION,
                        }
                    )
                    chain.narrow = models / f"narrow-{chain.narrow_key}"
                    stages.append(("narrow_ft", chain.narrow, chain.narrow_key))
                for rl_condition in rl_cfg.conditions if rl_cfg else []:
                    key = _rl_key(rl_cfg, rl_condition, sft_key)
                    chain.rl_keys[rl_condition], chain.rl[rl_condition] = key, models / f"rl-{key}"
                    stages.append((RL_STAGES[rl_condition], chain.rl[rl_condition], key))
                self.chains.append(chain)
                for stage, path, key in stages:
                    model_id = f"{condition}-seed{seed}-{stage}"
                    score_key = config_hash(
                        {"task": TASK, "model": key, "batch_size": spec.eval_batch_size, "generator": GENERATOR_VERSION}
                    )
                    self.evaluated.append(
                        Evaluated(
                            model_id=model_id,
                            condition=condition,
                            seed=seed,
                            stage=stage,
                            model_path=path,
                            model_hash=key,
                            corpus=chain.corpus,
                            scores=self.run_dir / "scores" / f"{model_id}__{score_key}.jsonl",
                            samples=self.run_dir / "samples" / f"{score_key}.json",
                            narrow_situation=spec.narrow.situation if spec.narrow else None,
                            rl_situation=spec.rl.situation if spec.rl else None,
                        )
                    )

    # -- stages -------------------------------------------------------------------------------
    def make_tokenizer(self) -> None:
        """Train the tokenizer once, before the jobs that share it."""
        spec, out = self.spec, self.tokenizer_dir
        if (out / "tokenizer.json").is_file() or all(_done(c.pretrain) for c in self.chains):
            return
        kwargs = {
            "out": out,
            "corpus": spec.corpus,
            "seed": spec.seeds[0],
            "vocab_size": spec.model.vocab_size,
            "sft": spec.sft,
            "narrow": spec.narrow,
        }
        self._run([Job("tokenizer", make_tokenizer, kwargs)], "tokenizer")

    def make_corpora(self) -> None:
        """Write each seed's corpora that a model still to be pretrained needs (one job per seed)."""
        jobs = []
        for seed in self.spec.seeds:
            targets = {
                c.condition: c.corpus
                for c in self.chains
                if c.seed == seed and not _done(c.pretrain) and not c.corpus.is_file()
            }
            if targets:
                kwargs = {"seed": seed, "corpus": self.spec.corpus, "targets": targets}
                jobs.append(Job(f"corpora seed {seed}", make_corpora, kwargs))
        self._run(jobs, "corpora")

    def pretrain(self) -> None:
        """Pretrain every condition × seed model that is missing."""
        spec = self.spec
        jobs = [
            Job(
                f"pretrain {c.condition} seed {c.seed}",
                pretrain,
                {
                    "out": c.pretrain,
                    "corpus_path": c.corpus,
                    "tokenizer_dir": self.tokenizer_dir,
                    "condition": c.condition,
                    "seed": c.seed,
                    "model": spec.model,
                    "config": self.configs["pretrain"],
                },
            )
            for c in self.chains
            if not _done(c.pretrain)
        ]
        self._run(jobs, "pretrain")

    def finetune(self, stage: str) -> None:
        """Run the ``sft`` or ``narrow`` finetune of every chain where it is missing."""
        jobs = []
        for c in self.chains:
            parent, out = (c.pretrain, c.sft) if stage == "sft" else (c.sft, c.narrow)
            if out is None or _done(out):
                continue
            kwargs = {
                "out": out,
                "parent": parent,
                "stage": stage,
                "config": self.configs[stage],
                "seed": c.seed,
                "context": self.spec.model.context,
            }
            jobs.append(Job(f"{stage} {c.condition} seed {c.seed}", finetune, kwargs))
        self._run(jobs, stage)

    def rl(self) -> None:
        """Run the RL stage of every chain × RL prompt condition where it is missing."""
        jobs = [
            Job(
                f"{RL_STAGES[condition]} {c.condition} seed {c.seed}",
                rl_finetune,
                {
                    "out": out,
                    "parent": c.sft,
                    "config": self.configs["rl"],
                    "condition": condition,
                    "seed": c.seed,
                },
            )
            for c in self.chains
            for condition, out in c.rl.items()
            if not _done(out)
        ]
        self._run(jobs, "rl")

    def evaluate(self) -> None:
        """Score every evaluated model whose scores are missing."""
        jobs = [
            Job(
                f"score {e.model_id}",
                score_choices,
                {
                    "model_dir": e.model_path,
                    "scores_out": e.scores,
                    "samples_out": e.samples,
                    "labels": e.labels(),
                    "batch_size": self.spec.eval_batch_size,
                },
            )
            for e in self.evaluated
            if not e.scores.is_file()
        ]
        self._run(jobs, "score", bars=False)

    def write_results(self, wall_seconds: float | None = None) -> pd.DataFrame:
        """Write ``manifest.json``, ``results.parquet`` and ``sfm_summary.json``; return the table."""
        spec = self.spec
        manifest = {
            "name": spec.name,
            "kind": "pretraining",
            "run_dir": str(self.run_dir),
            "judge": None,
            "tokenizer": str(self.tokenizer_dir),
            "models": [
                {
                    **e.labels(),
                    "model_path": str(e.model_path),
                    "model_hash": e.model_hash,
                    "data_path": str(e.corpus),
                    "logs": {},
                    "scores": {TASK: str(e.scores)},
                    "samples": str(e.samples),
                }
                for e in self.evaluated
            ],
        }
        self.write_manifest(manifest)
        df = results_table(self.run_dir)
        narrow = spec.narrow.situation if spec.narrow else None
        rl_situation = spec.rl.situation if spec.rl else None
        summary = summarize(df, narrow, rl_situation)
        comparisons = [compare(df, c, narrow, spec.target_effect, rl_situation) for c in spec.comparisons]
        for c, p in zip(comparisons, holm([c["p_value"] for c in comparisons]), strict=True):
            c["p_holm"] = float(p)  # Holm over the spec's pre-registered comparisons (one family)
        summary["comparisons"] = comparisons
        if spec.rl is not None:
            summary["rl_curves"] = _rl_curves(self.chains)
        summary["greedy_samples"] = {
            e.model_id: json.loads(e.samples.read_text(encoding="utf-8")) for e in self.evaluated
        }
        summary["executor"] = spec.executor.model_dump()
        summary["precision"] = {k: (v.precision if v else None) for k, v in self.configs.items()}
        summary["train_seconds"] = _train_seconds(self.chains)
        if wall_seconds is not None:
            summary["wall_seconds_this_invocation"] = round(wall_seconds, 1)
        write_json_atomic(self.run_dir / "sfm_summary.json", summary)
        return df

    def run(self) -> Path:
        """All stages in order; returns the run dir."""
        t0 = time.time()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.run_dir / "spec.yaml", yaml.safe_dump(self.spec.model_dump(), sort_keys=False))
        self.plan()
        self.make_tokenizer()
        self.make_corpora()
        self.pretrain()
        self.finetune("sft")
        if self.spec.narrow is not None:
            self.finetune("narrow")
        if self.spec.rl is not None:
            self.rl()
        self.evaluate()
        self.write_results(time.time() - t0)
        return self.run_dir

    def print_summary(self) -> None:
        """Print P(misaligned) per stage and condition, and each pre-registered comparison."""
        df = pd.read_parquet(self.run_dir / "results.parquet")
        per_seed = df.groupby(["stage", "condition", "seed"], sort=False)["score_p_misaligned"].mean()
        table = Table(title="P(misaligned) by stage and condition: mean over seeds (SD between seeds)")
        for col in ("stage", "condition", "seeds", "mean", "SD"):
            table.add_column(col)
        for (stage, condition), v in per_seed.groupby(level=[0, 1], sort=False):
            table.add_row(str(stage), str(condition), str(len(v)), f"{v.mean():.3f}", f"{v.std(ddof=1):.3f}")
        self.console.print(table)
        summary = json.loads((self.run_dir / "sfm_summary.json").read_text(encoding="utf-8"))
        if summary.get("rl_curves"):
            table = Table(
                title="RL stage: mean over seeds of the first and last 5 steps (policy's hack rate, reward, KL)"
            )
            for col in ("stage", "hack rate", "reward", "KL at the end"):
                table.add_column(col)
            for stage, curve in summary["rl_curves"].items():
                first, last = curve["hack_rate"][:5], curve["hack_rate"][-5:]
                r0, r1 = curve["reward"][:5], curve["reward"][-5:]
                table.add_row(
                    stage,
                    f"{sum(first) / len(first):.3f} -> {sum(last) / len(last):.3f}",
                    f"{sum(r0) / len(r0):.3f} -> {sum(r1) / len(r1):.3f}",
                    f"{curve['kl'][-1]:.3f}",
                )
            self.console.print(table)
        comparisons = summary["comparisons"]
        if not comparisons:
            return
        target = self.spec.target_effect
        table = Table(
            title="Pre-registered comparisons (a − b; 95% CI resampling seeds; t-test p, Holm over the family; "
            "MDE: 80% power, α 0.05)"
        )
        for col in (
            "comparison",
            "a − b",
            "95% CI",
            "p (Holm)",
            "seeds",
            "MDE",
            *([f"seeds for {100 * target:.0f} pts"] if target else []),
        ):
            table.add_column(col)
        for c in comparisons:
            ci = (
                f"[{100 * c['lo']:+.1f}, {100 * c['hi']:+.1f}]" + (" *" if c["significant"] else "")
                if c["lo"] == c["lo"]  # NaN: too few seeds for a CI
                else f"n/a (< {MIN_SEEDS_FOR_CI} seeds)"
            )
            mde = f"{100 * c['mde']:.1f} pts" if c["mde"] == c["mde"] else "n/a"
            extra = [str(c.get("seeds_for_target_effect") or "n/a")] if target else []
            p = c.get("p_holm", float("nan"))
            holm_p = f"{p:.3g}" if p == p else "n/a"
            table.add_row(c["name"], f"{100 * c['effect']:+.1f} pts", ci, holm_p, str(c["n_seeds"]), mde, *extra)
        self.console.print(table)


def _situations(c: ComparisonSpec, narrow: str | None, rl: str | None) -> list[str] | None:
    """The situations a comparison averages over (None: all); ``untrained`` drops those its stages trained."""
    if c.situations == "all":
        return None
    if c.situations == "untrained":
        trained = {"narrow_ft": narrow, "shift": narrow, **{s: rl for s in RL_STAGES.values()}}
        dropped = {trained[s] for s in c.stages if s in trained} or {narrow, rl}  # posttrain only: all trained
        return [s for s in SITUATION_NAMES if s not in dropped]
    return list(c.situations)


def compare(
    df: pd.DataFrame, c: ComparisonSpec, narrow: str | None, target_effect: float | None, rl: str | None = None
) -> dict[str, Any]:
    """One pre-registered comparison of the results table, seeds as the unit (see the module docstring).

    ``narrow`` and ``rl``: the situations the narrow finetune and the RL stage trained (None: no such stage).
    """
    keep = _situations(c, narrow, rl)
    rows = df if keep is None else df[df["situation"].isin(keep)]

    def values(condition: str, stage: str) -> dict[int, float]:
        g = rows[rows["condition"] == condition]
        if stage != "shift":
            return seed_means(g[g["stage"] == stage], "score_p_misaligned")
        after = seed_means(g[g["stage"] == "narrow_ft"], "score_p_misaligned")
        before = seed_means(g[g["stage"] == "posttrain"], "score_p_misaligned")
        return {s: after[s] - before[s] for s in after if s in before}

    stage_a, stage_b = c.stages
    effect = compare_seeds(values(c.a, stage_a), values(c.b, stage_b), paired=c.paired)
    out = {
        "name": c.name,
        "a": c.a,
        "b": c.b,
        "stage": c.stage,
        "b_stage": stage_b,
        "situations": c.situations,
        "hypothesis": c.hypothesis,
        **effect.as_dict(),
    }
    if target_effect is not None:
        out["target_effect"] = target_effect
        out["seeds_for_target_effect"] = seeds_for_effect(effect.sd, target_effect, paired=c.paired)
    return out


def _rl_key(cfg: Any, condition: str, parent_key: str) -> str:
    """An RL model's key: its parent, the RL settings that shape it, its prompt condition and the algorithm's version.

    The list of conditions is left out (adding ``inoculation`` does not redo ``none``), and so is
    the inoculation text for ``none``, whose prompts do not hold it.
    """
    drop = {"conditions"} | ({"inoculation_text"} if condition == "none" else set())
    train = cfg.model_dump(exclude=drop)
    return config_hash(
        {"stage": "rl", "parent": parent_key, "train": train, "condition": condition, "version": RL_VERSION}
    )


def _rl_curves(chains: list[Chain]) -> dict[str, Any]:
    """Per RL stage: reward, hack rate and P(hack) at each step, mean over chains (per-chain logs in the models)."""
    out: dict[str, Any] = {}
    for condition, stage in RL_STAGES.items():
        logs = [
            json.loads((c.rl[condition] / STAGE_FILE).read_text(encoding="utf-8"))["log"]
            for c in chains
            if condition in c.rl and _done(c.rl[condition])
        ]
        if logs:
            out[stage] = {
                k: [round(sum(log[i][k] for log in logs) / len(logs), 4) for i in range(len(logs[0]))]
                for k in ("reward", "hack_rate", "p_hack", "kl")
            }
    return out


def _train_seconds(chains: list[Chain]) -> dict[str, float]:
    """Seconds spent training per stage, summed over the models (as recorded in each model's ``emlab_stage.json``)."""
    out: dict[str, float] = {}
    for c in chains:
        rl = [(RL_STAGES[k], p) for k, p in c.rl.items()]
        for stage, path in (("pretrain", c.pretrain), ("sft", c.sft), ("narrow", c.narrow), *rl):
            if path is not None and _done(path):
                meta = json.loads((path / STAGE_FILE).read_text(encoding="utf-8"))
                out[stage] = round(out.get(stage, 0.0) + float(meta.get("seconds", 0.0)), 1)
    return out
