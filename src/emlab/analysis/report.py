"""One self-contained HTML report per run (plots inlined as PNG; no external assets).

Sections, in order (a ``kind: rl`` run first shows its RL panels: :mod:`emlab.analysis.rl`):

* **Judge** — which judge scored each model's answers, with the agreement that judge had
  measured, both read from the logs (the scorer records them in every score), and the sampling
  each model's answers were drawn with.
* **Free-form misalignment** — the misaligned rate per arm under both published rules
  (:mod:`emlab.definitions`) beside the share of coherent answers; the judge-corrected rate
  (Rogan-Gladen) where the scoring judge recorded its sensitivity and specificity.
* **Differences between conditions** — paired by question, seeds as a level (see
  :mod:`emlab.analysis.metrics`), with raw 95% and Holm-adjusted intervals, p-values and the
  minimum detectable effect of each comparison, and a forest plot of both intervals.
* **Per question**, **sample answers** per arm (stratified: lowest and highest aligned, random),
  **other tasks** (each task's primary metric), **models and their configs** (key/value lists),
  and the **logs** behind every number.

Every text the report did not write itself (model ids, condition texts, questions, answers,
configs, judge names) is HTML-escaped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emlab._io import write_text_atomic
from emlab.analysis.html import esc, figure, kv, png, table
from emlab.analysis.metrics import (
    N_BOOT,
    Difference,
    Estimate,
    bootstrap_diff,
    bootstrap_mean,
    corrected_rate,
    holm,
    holm_intervals,
    judged_summary,
    misaligned_indicators,
)
from emlab.analysis.results import results_table
from emlab.analysis.rl import rl_sections
from emlab.corpus import PRIMARY_METRICS as CORPUS_METRICS
from emlab.definitions import BETLEY, COHERENT_ABOVE, RULES, TURNER, Rule
from emlab.errors import EmlabError
from emlab.evals import PRIMARY_METRICS

ARM = ["train_set", "condition"]
ARM_KEYS = ["base_model", *ARM]
HEADLINE: Rule = TURNER  # the rule of the differences, per-question table and corrected rate
SAMPLES_PER_ARM = 8
ALPHA = 0.05
JUDGE_RATES = ("sensitivity", "n_pos", "specificity", "n_neg")  # recorded as meta_judge_<name>
_CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f3f3f3;position:sticky;top:0}
td{max-width:40em}
code,pre{background:#f6f6f6;padding:.1em .3em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;max-height:12em;overflow:auto;margin:0}
.note{background:#fff8e0;padding:.6em;border-left:4px solid #e0b000}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.4em 0;font-size:.88em}
dl.kv dt{font-weight:600;color:#444}dl.kv dd{margin:0;overflow-wrap:anywhere}
dl.kv dl.kv{margin:0;font-size:1em}
details{margin:.5em 0}summary{cursor:pointer;font-weight:600}
img{max-width:100%;height:auto}
"""


# -- small HTML helpers ---------------------------------------------------------------------------


def _arm_label(row: Mapping[str, Any]) -> str:
    return "base" if row["train_set"] == "base" else f"{row['train_set']} / {row['condition']}"


def _seeds(g: pd.DataFrame) -> list[Any] | None:
    return g["seed"].tolist() if "seed" in g else None


def _coherent_share(g: pd.DataFrame) -> float:
    """Share of answers with coherent > 50 among those with a coherence score (NaN if none has one)."""
    c = g["score_coherent"].dropna()
    return float((c > COHERENT_ABOVE).mean()) if len(c) else float("nan")


def _cut_share(g: pd.DataFrame) -> float:
    """Share of answers cut at the token limit among those whose provider gave a stop reason (NaN if none did)."""
    reasons = g["stop_reason"] if "stop_reason" in g else pd.Series(dtype=object)
    known = reasons[reasons.notna() & (reasons != "unknown")]
    return float((known == "max_tokens").mean()) if len(known) else float("nan")


def _share(x: float) -> str:
    return "n/a" if np.isnan(x) else f"{x * 100:.0f}%"


def _pts(x: float) -> str:
    return "n/a" if x is None or np.isnan(x) else f"{x * 100:+.1f}"


# -- free-form tables -----------------------------------------------------------------------------


def judge_error_rates(g: pd.DataFrame) -> tuple[float, int, float, int] | None:
    """(sensitivity, n_pos, specificity, n_neg) recorded by the one judge that scored ``g``; None if not recorded."""
    cols = [f"meta_judge_{k}" for k in JUDGE_RATES]
    if not set(cols) <= set(g) or g[cols].isna().any().any():
        return None
    values = g[cols].drop_duplicates()
    if len(values) != 1:  # several judges: no single correction applies
        return None
    sens, n_pos, spec, n_neg = values.iloc[0].tolist()
    return float(sens), int(n_pos), float(spec), int(n_neg)


def freeform_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per model arm (base model, train set, condition): every free-form metric as an :class:`Estimate`.

    Seeds of one arm are pooled, with seeds as a level of the bootstrap; ``corrected`` is the
    judge-corrected headline rate where the scoring judge recorded its error rates (else None).
    """
    rows = []
    for (base, ts, cond), g in df.groupby(ARM_KEYS, sort=False):
        a, c = g["score_aligned"].tolist(), g["score_coherent"].tolist()
        s = judged_summary(a, c, groups=g["question_id"].tolist(), seeds=_seeds(g))
        corrected = None
        rates = judge_error_rates(g)
        if rates is not None:
            flag, inc = misaligned_indicators(a, c, HEADLINE.name)
            seeds = _seeds(g)
            corrected = corrected_rate(
                flag[inc],
                *rates,
                groups=g["question_id"].to_numpy()[inc],
                seeds=None if seeds is None else np.asarray(seeds, dtype=object)[inc],
            )
        n_seeds = g["seed"].nunique() if "seed" in g and g["seed"].notna().any() else 1
        arm = {"base_model": base, "train_set": ts, "condition": cond, "seeds": n_seeds}
        rows.append({**arm, **s, "corrected": corrected, "cut_at_limit": _cut_share(g)})
    return pd.DataFrame(rows)


def _fmt_summary(summary: pd.DataFrame) -> pd.DataFrame:
    out = summary[["base_model", "train_set", "condition", "seeds"]].copy()
    out["coherent share"] = [e.fmt() for e in summary["coherent_rate"]]
    if summary["cut_at_limit"].notna().any():
        out["cut at the token limit"] = [_share(x) for x in summary["cut_at_limit"]]
    for name, r in RULES.items():
        out[f"misaligned, {r.label}"] = [e.fmt() for e in summary[f"misaligned_{name}"]]
    if summary["corrected"].notna().any():
        out[f"{HEADLINE.label}, judge-corrected"] = [e.fmt() if e is not None else "-" for e in summary["corrected"]]
    out["unscored (CODE/REFUSAL)"] = [e.fmt() for e in summary["unscored_rate"]]
    out["mean aligned (0-100)"] = [e.fmt(pct=False) for e in summary["mean_aligned"]]
    return out


def _comparison_pairs(df: pd.DataFrame) -> list[tuple[tuple, tuple, str]]:
    """(arm a, arm b, kind): finetuned vs base, train set vs train set under one condition, condition vs none."""
    groups = df.groupby(ARM_KEYS, sort=False)
    keys = list(groups.groups)
    kinds = {k: g["condition_kind"].iloc[0] for k, g in groups} if "condition_kind" in df else {}

    def plain(k: tuple) -> bool:  # the arm trained without a condition
        return kinds.get(k, k[2]) == "none"

    pairs = []
    for a in keys:
        for b in keys:
            if a == b or a[0] != b[0]:
                continue
            if b[1] == "base" and a[1] != "base":
                pairs.append((a, b, "finetuned - base"))
            elif a[1] != "base" and b[1] != "base" and a[2] == b[2] and a[1] < b[1]:
                pairs.append((a, b, "train set"))
            elif a[1] == b[1] != "base" and plain(b) and not plain(a):
                pairs.append((a, b, "condition"))
    return pairs


def condition_differences(df: pd.DataFrame, rule: Rule = HEADLINE) -> tuple[pd.DataFrame, list[Difference]]:
    """Differences in misaligned rate between arms (see :func:`_comparison_pairs`), as one family.

    Returns a numeric table (rates and differences as fractions: difference, 95% lo/hi,
    Holm lo/hi, p, Holm p, SE, MDE, paired, each arm's coherent share) and the
    :class:`Difference` objects in the same order.
    """
    arms = {k: g for k, g in df.groupby(ARM_KEYS, sort=False)}
    pairs = _comparison_pairs(df)
    # Holm tests the first comparison at alpha / m: keep >= 10 replicates beyond that interval's ends
    n_boot = max(N_BOOT, int(20 * len(pairs) / ALPHA))
    rows, diffs = [], []
    for i, (a, b, kind) in enumerate(pairs):
        parts = []
        for key in (a, b):
            g = arms[key]
            flag, inc = misaligned_indicators(g["score_aligned"].tolist(), g["score_coherent"].tolist(), rule.name)
            seeds = _seeds(g)
            parts.append(
                (flag[inc], g["question_id"].to_numpy()[inc], None if seeds is None else np.asarray(seeds, object)[inc])
            )
        (xa, qa, sa), (xb, qb, sb) = parts
        d = bootstrap_diff(xa, xb, qa, qb, sa, sb, n_boot=n_boot, seed=i)
        diffs.append(d)
        coherent = [_coherent_share(arms[k]) for k in (a, b)]
        rows.append(
            {
                "comparison": f"{_arm_label(dict(zip(ARM, a[1:], strict=True)))}  −  "
                f"{_arm_label(dict(zip(ARM, b[1:], strict=True)))}",
                "kind": kind,
                "base_model": a[0],
                "difference": d.estimate.value,
                "lo": d.estimate.lo,
                "hi": d.estimate.hi,
                "p": d.p_value,
                "se": d.estimate.se,
                "mde": d.estimate.mde,
                "paired": d.paired,
                "n": d.estimate.n,
                "coherent_a": coherent[0],
                "coherent_b": coherent[1],
            }
        )
    out = pd.DataFrame(rows)
    if diffs:
        out["p_holm"] = holm([d.p_value for d in diffs])
        out[["holm_lo", "holm_hi"]] = holm_intervals(diffs, ALPHA)
    return out, diffs


def _fmt_diffs(t: pd.DataFrame) -> pd.DataFrame:
    def ci(lo: float, hi: float) -> str:
        return "n/a" if np.isnan(lo) else f"[{_pts(lo)}, {_pts(hi)}]"

    return pd.DataFrame(
        {
            "comparison": t["comparison"],
            "kind": t["kind"],
            "base model": t["base_model"],
            "difference (pts)": [_pts(v) for v in t["difference"]],
            "95% CI": [ci(lo, hi) for lo, hi in zip(t["lo"], t["hi"], strict=True)],
            "Holm-adjusted CI": [ci(lo, hi) for lo, hi in zip(t["holm_lo"], t["holm_hi"], strict=True)],
            "p": ["n/a" if np.isnan(p) else f"{p:.3g}" for p in t["p"]],
            "p (Holm)": ["n/a" if np.isnan(p) else f"{p:.3g}" for p in t["p_holm"]],
            "MDE (pts)": ["n/a" if np.isnan(m) else f"{m * 100:.1f}" for m in t["mde"]],
            "coherent share (a / b)": [
                f"{_share(a)} / {_share(b)}" for a, b in zip(t["coherent_a"], t["coherent_b"], strict=True)
            ],
            "paired by question": ["yes" if p else "no" for p in t["paired"]],
            "verdict (Holm)": [
                "n/a" if np.isnan(p) else "significant" if p < ALPHA else "not significant" for p in t["p_holm"]
            ],
        }
    )


def _rate_plot(summary: pd.DataFrame) -> str:
    labels = [
        f"{r.base_model}\n{_arm_label(r._asdict())}\ncoherent {r.coherent_rate.value * 100:.0f}%"
        for r in summary.itertuples()
    ]
    fig, ax = figure(min(14, max(5, 1.6 * len(labels))), 3.8)
    width = 0.38
    for i, (r, color) in enumerate(((BETLEY, "#c0392b"), (TURNER, "#e67e22"))):
        est: list[Estimate] = summary[f"misaligned_{r.name}"].tolist()
        xs = [j + (i - 0.5) * width for j in range(len(est))]
        vals = [0 if np.isnan(e.value) else e.value * 100 for e in est]
        lo = [v - (v if np.isnan(e.lo) else e.lo * 100) for v, e in zip(vals, est, strict=True)]
        hi = [(v if np.isnan(e.hi) else e.hi * 100) - v for v, e in zip(vals, est, strict=True)]
        ax.bar(xs, vals, width, yerr=[np.maximum(lo, 0), np.maximum(hi, 0)], capsize=3, color=color, label=r.label)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylabel("misaligned answers (%)")
    ax.legend(title="rule")
    ax.set_title("Free-form misaligned rate, 95% bootstrap CI (questions and seeds resampled)")
    return png(fig)


def _forest_plot(t: pd.DataFrame) -> str:
    """Each comparison's difference with its raw 95% CI (thick) and Holm-adjusted CI (thin)."""
    n = len(t)
    fig, ax = figure(8, 1.2 + 0.45 * n)
    ys = np.arange(n)[::-1]
    for y, r in zip(ys, t.itertuples(), strict=True):
        if np.isnan(r.difference):
            continue
        ax.plot([r.holm_lo * 100, r.holm_hi * 100], [y, y], color="#7f8c8d", lw=1.2, solid_capstyle="butt")
        for x in (r.holm_lo * 100, r.holm_hi * 100):
            ax.plot([x, x], [y - 0.15, y + 0.15], color="#7f8c8d", lw=1.2)
        ax.plot([r.lo * 100, r.hi * 100], [y, y], color="#2c3e50", lw=4, solid_capstyle="butt")
        ax.plot(r.difference * 100, y, "o", color="#c0392b" if r.p_holm < ALPHA else "white", mec="#2c3e50", ms=7)
    ax.axvline(0, color="#999", lw=1, ls="--")
    ax.set_yticks(ys, [f"{r.comparison}\n({r.base_model})" for r in t.itertuples()], fontsize=8)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(f"difference in misaligned rate, {HEADLINE.label} (percentage points)")
    ax.plot([], [], color="#2c3e50", lw=4, label="95% CI")
    ax.plot([], [], color="#7f8c8d", lw=1.2, label="Holm-adjusted CI")
    ax.plot([], [], "o", color="#c0392b", mec="#2c3e50", label="significant after Holm")
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="x", alpha=0.3)
    return png(fig)


def _per_question(df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (qid, base, ts, cond), g in df.groupby(["question_id", *ARM_KEYS], sort=False):
        a, c = g["score_aligned"].tolist(), g["score_coherent"].tolist()
        rate = HEADLINE.rate(a, c)
        coherent = _coherent_share(g)
        n = int(HEADLINE.included(a, c).sum())
        rows.append(
            {
                "question": qid,
                "model": f"{base} · {_arm_label({'train_set': ts, 'condition': cond})}",
                "rate": f"{rate * 100:.0f}% (n={n}; coherent {_share(coherent)})" if n else "n/a",
            }
        )
    if not rows:
        return pd.DataFrame()
    wide = pd.DataFrame(rows).pivot(index="question", columns="model", values="rate")
    return wide.rename_axis(columns=None).reset_index()


def _answer_rows(d: pd.DataFrame, why: pd.Series | list[str]) -> str:
    def score(v: Any) -> str:
        return "-" if v is None or pd.isna(v) else f"{v:.0f}"

    return "".join(
        f"<tr><td>{esc(w)}</td><td>{esc(r.model_id)}</td><td><pre>{esc(r.input)}</pre></td>"
        f"<td><pre>{esc(r.output)}</pre></td><td>{score(r.score_aligned)}</td><td>{score(r.score_coherent)}</td></tr>"
        for w, r in zip(why, d.itertuples(), strict=True)
    )


_ANSWER_HEAD = (
    "<tr><th>picked as</th><th>model</th><th>question</th><th>answer</th><th>aligned</th><th>coherent</th></tr>"
)


def sample_answers(g: pd.DataFrame, k: int = SAMPLES_PER_ARM, seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """Up to ``k`` answers of one arm: the 3 lowest and 2 highest aligned, the rest at random (with why each)."""
    scored = g[g["score_aligned"].notna()].sort_values("score_aligned", kind="stable")
    n_low, n_high = min(3, len(scored)), min(2, max(0, len(scored) - 3))
    low, high = scored.head(n_low), scored.tail(n_high)
    rest = g.drop(index=low.index.union(high.index))
    rand = rest.sample(n=min(k - len(low) - len(high), len(rest)), random_state=seed)
    picked = pd.concat([low, high, rand])
    why = ["lowest aligned"] * len(low) + ["highest aligned"] * len(high) + ["random"] * len(rand)
    return picked, why


def _sample_panel(df: pd.DataFrame) -> str:
    parts = []
    for key, g in df.groupby(ARM_KEYS, sort=False):
        picked, why = sample_answers(g)
        label = f"{key[0]} · {_arm_label(dict(zip(ARM, key[1:], strict=True)))}"
        parts.append(
            f"<details open><summary>{esc(label)} ({len(g)} answers)</summary>"
            f'<div class="scroll"><table>{_ANSWER_HEAD}{_answer_rows(picked, why)}</table></div></details>'
        )
    return "".join(parts)


def _worst_answers(df: pd.DataFrame, k: int = 10) -> str:
    d = df[(df["score_coherent"] > 50) & df["score_aligned"].notna()].sort_values("score_aligned").head(k)
    if d.empty:
        return "<p>No coherent scored answers.</p>"
    rows = _answer_rows(d, ["lowest aligned, coherent"] * len(d))
    return f'<div class="scroll"><table>{_ANSWER_HEAD}{rows}</table></div>'


# -- judge and sampling -----------------------------------------------------------------------------


def _judge_section(df: pd.DataFrame) -> str:
    """Which judge scored which models, with the agreement it recorded in the logs; the sampling of each model."""
    meta = [c for c in df if c.startswith("meta_judge_") and c != "meta_judge_scale"]
    judge_col = df["meta_judge"] if "meta_judge" in df else pd.Series("unknown", index=df.index)
    parts = []
    for name, g in df.assign(_judge=judge_col.fillna("unknown")).groupby("_judge", sort=False):
        recorded = g[meta].dropna(axis=1, how="all").drop_duplicates() if meta else pd.DataFrame()
        models = ", ".join(sorted(map(str, g["model_id"].unique())))
        head = f"<h3>Judge <code>{esc(name)}</code></h3><p>Scored the answers of: {esc(models)}.</p>"
        if "meta_judge_scale" in g and (g["meta_judge_scale"] == 9).any():
            head += (
                "<p>It writes numbers digit by digit, so it rated on the rubric's 0-9 scale (one token, "
                "probability-weighted, rescaled to 0-100) instead of the published 0-100.</p>"
            )
        if recorded.empty:
            body = (
                "<p class='note'>No measured agreement is recorded in these logs (an API judge, or logs "
                "scored before emlab recorded it). Read the sample answers below to check the scores.</p>"
            )
        else:
            body = "".join(
                kv({k.removeprefix("meta_judge_"): v for k, v in row.items() if pd.notna(v)})
                for _, row in recorded.iterrows()
            )
            if len(recorded) > 1:
                body = "<p class='note'>Several versions of this judge scored these logs.</p>" + body
            body = (
                "<p>Agreement with the reference (GPT-4o) judge as this judge measured it on held-out answers, "
                "read from the logs (rates in points; AUROC and Spearman 0-1):</p>" + body
            )
        parts.append(head + body)
    parts.append(
        "<p class='note'>A judge is trusted only on the kind of answers it was validated on. Small models "
        "write fluent nonsense at temperature 1; compare the coherent share with the sample answers below.</p>"
    )
    sampling = [c for c in ("sampling_temperature", "sampling_top_p", "sampling_max_tokens") if c in df]
    if sampling:
        s = df[["model_id", *sampling]].drop_duplicates().rename(columns=lambda c: c.removeprefix("sampling_"))
        parts.append("<h3>Sampling</h3>" + table(s.astype(object).where(s.notna(), "default")))
    return "".join(parts)


# -- other tasks, configs -------------------------------------------------------------------------


def _task_panel(task: str, name: str, g: pd.DataFrame, metric: tuple[str, str] | None) -> str:
    """One task's table (the eval called ``name`` in the spec): ``metric`` per model, 95% bootstrap CI."""
    called = "" if name.removeprefix("emlab/") == task else f" (eval <code>{esc(name)}</code>)"
    head = f"<h3>Task <code>{esc(task)}</code>{called}</h3>"
    if metric is None:
        return head + "<p class='note'>No primary metric declared for this task.</p>"
    key, desc = metric
    col = key if key.startswith("score_") else f"score_{key}"
    if col not in g:
        return head + f"<p class='note'>Column {esc(col)} missing from the results.</p>"
    # finetune runs identify a model by (base, train set, condition); the pretraining testbed by (condition, stage)
    keys = [k for k in ("base_model", "train_set", "condition", "stage") if k in g]
    cluster = next((c for c in ("question_id", "situation", "sample_id") if c in g), None)
    rows = []
    for ident, s in g.groupby(keys, sort=False):
        vals = s[col].dropna()
        seeds = s.loc[vals.index, "seed"].tolist() if "seed" in s else None
        est = bootstrap_mean(vals.tolist(), s.loc[vals.index, cluster].tolist() if cluster else None, seeds)
        ident = ident if isinstance(ident, tuple) else (ident,)
        rows.append(
            {
                **dict(zip(keys, ident, strict=True)),
                "seeds": s["seed"].nunique() if "seed" in s else "",
                desc: est.fmt(pct=bool(vals.between(0, 1).all())),
            }
        )
    ex = "".join(
        f"<details><summary>{esc(r.model_id)} · {esc(r.sample_id)}</summary>"
        f"<pre>{esc(str(r.input)[:2000])}</pre><pre>{esc(str(r.output)[:2000])}</pre></details>"
        for r in g.head(3).itertuples()
    )
    return head + f"<p>{esc(desc)}; 95% bootstrap CI.</p>" + table(pd.DataFrame(rows)) + ex


def _training_stages(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """The training records behind a model, first stage first: a chat stage's ``emlab.json`` embeds its start's."""
    stages = []
    while cfg.get("train_config"):
        stages.insert(0, cfg)
        cfg = (cfg.get("base_model") or {}).get("emlab") or {}
    return stages


def _configs(manifest: dict[str, Any]) -> str:
    """One overview table of the models, then each model's condition and training config as key/value lists.

    A model trained in stages (documents, then a chat stage) shows each stage's loss, data hash and config,
    joined by arrows in the table.
    """
    rows, details = [], []
    for m in manifest["models"]:
        cfg_path = Path(m.get("model_path") or "") / "emlab.json"
        cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
        stages = _training_stages(cfg)
        dataset = cfg.get("dataset") or {}
        condition = dataset.get("condition") if isinstance(dataset.get("condition"), dict) else {}
        rows.append(
            {
                "model": m["model_id"],
                "train set / condition": f"{m['train_set']} / {m['condition']}",
                "seed": "-" if m.get("seed") is None else m["seed"],
                "training": " → ".join(st.get("kind", "") for st in stages),
                "final loss": " → ".join(
                    f"{st['loss_curve'][-1]['loss']:.4g}" if st.get("loss_curve") else "-" for st in stages
                ),
                "precision": " → ".join(st.get("precision", "") for st in stages),
                "data sha256": " → ".join((st.get("data") or {}).get("sha256", "") for st in stages),
            }
        )
        facts: dict[str, Any] = {
            "condition": m.get("condition_kind") or condition.get("condition") or m["condition"],
            "model path": m.get("model_path"),
            "logs": list((m.get("logs") or {}).values()),
        }
        for i, st in enumerate(stages):
            facts["train config" if len(stages) == 1 else f"stage {i + 1} ({st.get('kind')}) train config"] = st[
                "train_config"
            ]
        text = condition.get("text") or ""
        details.append(
            f"<details><summary>{esc(m['model_id'])}: condition, training config, logs</summary>{kv(facts)}"
            + (f"<p>Condition text:</p><pre>{esc(text)}</pre>" if text else "")
            + "</details>"
        )
    return table(pd.DataFrame(rows)) + "".join(details)


# -- the page -----------------------------------------------------------------------------------------


def _freeform_sections(ff: pd.DataFrame) -> list[str]:
    summary = freeform_summary(ff)
    body = ["<h2 id='judge'>Judge</h2>", _judge_section(ff)]
    body += ["<h2 id='freeform'>Free-form misalignment</h2>", _rate_plot(summary), table(_fmt_summary(summary))]
    body.append(
        f"<p>{esc(BETLEY.label)}: {esc(BETLEY.text)}. {esc(TURNER.label)}: {esc(TURNER.text)}. "
        "Coherent share: answers with coherent &gt; 50 among those with a coherence score. 95% percentile "
        "bootstrap CIs resample whole questions and training seeds; n is the number of answers in the "
        "denominator. Cut at the token limit: answers whose generation the provider stopped at max_tokens "
        "(judge and reader see them unfinished; shown where the provider reports a stop reason).</p>"
    )
    if summary["corrected"].notna().any():
        body.append(
            "<p>Judge-corrected: the Rogan–Gladen estimate from the judge's sensitivity and specificity for the "
            "misaligned label, as recorded in the logs; its CI includes the uncertainty of those two rates.</p>"
        )
    body.append(f"<h2 id='differences'>Differences between conditions ({esc(HEADLINE.label)} rate)</h2>")
    diffs, _ = condition_differences(ff)
    if diffs.empty:
        body.append("<p>Only one model: nothing to compare.</p>")
    else:
        n_sig = int((diffs["p_holm"] < ALPHA).sum())
        body.append(
            f"<p class='note'>{n_sig} of {len(diffs)} differences are significant after Holm's adjustment for "
            f"the {len(diffs)} comparisons (95% family-wise); the others are <b>not significant</b> at this sample "
            "size. MDE: the smallest true difference this design detects with 80% power (2.8 × the bootstrap "
            "SE).</p>"
        )
        body += [_forest_plot(diffs), table(_fmt_diffs(diffs))]
        body.append(
            "<p>Paired: both arms answered the same questions, so each bootstrap replicate draws questions once "
            "for both arms; each arm's seeds are drawn independently.</p>"
        )
    body += [f"<h2 id='questions'>Per question ({esc(HEADLINE.label)} rate)</h2>", table(_per_question(ff))]
    body += ["<h2 id='answers'>Sample answers per model</h2>", _sample_panel(ff)]
    body += ["<h2 id='worst'>Most misaligned coherent answers</h2>", _worst_answers(ff)]
    return body


def _preregistered_sections(comparisons: list[dict[str, Any]]) -> list[str]:
    """The testbed's pre-registered comparisons (``sfm_summary.json``): seeds as the unit, Holm over the family."""
    if not comparisons:
        return []

    def nan(x: float | None) -> bool:
        return x is None or np.isnan(x)

    rows = [
        {
            "comparison": c["name"],
            "a − b (pts)": _pts(c["effect"]),
            "95% CI over seeds (pts)": "n/a" if nan(c["lo"]) else f"[{_pts(c['lo'])}, {_pts(c['hi'])}]",
            "p (Holm)": "n/a" if nan(c.get("p_holm")) else f"{c['p_holm']:.3g}",
            "seeds": c["n_seeds"],
            "MDE (pts)": "n/a" if nan(c["mde"]) else f"{100 * c['mde']:.1f}",
            "seeds for the target effect": c.get("seeds_for_target_effect") or "n/a",
            "hypothesis": c.get("hypothesis") or "",
        }
        for c in comparisons
    ]
    return [
        "<h2 id='preregistered'>Pre-registered comparisons</h2>",
        "<p>Written in the spec before the run. Each seed's model is reduced to its mean P(misaligned); a − b is "
        "the mean over seeds of the per-seed difference (paired), its 95% CI resamples seeds, p is the matching "
        "t-test's, Holm-adjusted over these comparisons; MDE: the smallest true difference this many seeds detect "
        "with 80% power.</p>",
        table(pd.DataFrame(rows)),
    ]


def render_report(df: pd.DataFrame, manifest: dict[str, Any], run_dir: Path) -> str:
    """The report page for the tidy results ``df`` of a run (``manifest`` as written by the runner)."""
    body = [f"<h1>emlab report: {esc(manifest['name'])}</h1>"]
    if manifest.get("kind") == "rl":
        body += rl_sections(run_dir, df, manifest)
    if (run_dir / "sfm_summary.json").is_file():
        body += _preregistered_sections(json.loads((run_dir / "sfm_summary.json").read_text())["comparisons"])
    # a spec may run one task twice under different names (the `eval` column): each is reported on its own
    evals = ["task", "eval"] if "eval" in df else ["task"]
    ff = df[df["task"] == "freeform"] if "score_aligned" in df else df.iloc[0:0]
    several = ff[evals[-1]].nunique() > 1
    for (_, *name), g in ff.groupby(evals, sort=False):
        body += ([f"<h2>Eval <code>{esc(name[0])}</code></h2>"] if several else []) + _freeform_sections(g)
    others = df[df["task"] != "freeform"]
    if not others.empty:
        metrics = {**CORPUS_METRICS, **PRIMARY_METRICS}
        body.append("<h2 id='tasks'>Other tasks</h2>")
        body += [
            _task_panel(task, name[0] if name else task, g, metrics.get(task))
            for (task, *name), g in others.groupby(evals, sort=False)
        ]
    if manifest["models"]:
        body += ["<h2 id='models'>Models and their configs</h2>", _configs(manifest)]
    body.append(
        f"<h2 id='logs'>Logs</h2><p>Every number above comes from these Inspect logs: "
        f"<code>inspect view --log-dir {esc(run_dir / 'logs')}</code>. "
        f"The tidy table is <code>{esc(run_dir / 'results.parquet')}</code>.</p>"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>emlab report: {esc(manifest['name'])}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    )


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Render ``run_dir``'s results into one HTML file (default ``run_dir/report.html``)."""
    run_dir = Path(run_dir)
    if (run_dir / "manifest.json").is_file():
        df = results_table(run_dir)
        manifest = json.loads((run_dir / "manifest.json").read_text())
    elif (run_dir / "results.parquet").is_file():  # the pretraining testbed writes its table directly
        df = pd.read_parquet(run_dir / "results.parquet")
        manifest = {"name": run_dir.name, "judge": None, "models": []}
    else:
        raise EmlabError(
            f"{run_dir}: not a run dir (no manifest.json or results.parquet); run `emlab run SPEC.yaml` first"
        )
    out = Path(out) if out else run_dir / "report.html"
    if df.empty:
        raise EmlabError(f"{run_dir}: no results yet (no finished Inspect logs)")
    write_text_atomic(out, render_report(df, manifest, run_dir))
    return out
