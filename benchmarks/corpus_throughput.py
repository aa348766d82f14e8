"""Throughput of the discourse classifier and its cost relative to pretraining.

Prints documents/s/core for the regex prefilter and for the full two-stage classifier
(prefilter + MiniLM head, one torch thread = one core), and the classification cost
as a fraction of the FLOPs of pretraining on the same corpus, for the testbed's CPU
model and for a 6.9B model (the scale of Tice et al. 2026; published reference:
under 1%). FLOPs: classifier 2·N_minilm per token of each prefilter-passing document
(truncated at 256 tokens); pretraining 6·N_model per corpus token per epoch.

    .venv/bin/python benchmarks/corpus_throughput.py [--docs 2000]
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    """Run the benchmark and print one JSON object."""
    import json

    import torch

    from emlab._minilm import load_minilm
    from emlab.corpus.classifier import MAX_TOKENS, classify
    from emlab.corpus.generate import CorpusMix, pretraining_documents
    from emlab.corpus.prefilter import prefilter_mask

    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--testbed-params", type=float, default=1.0e6, help="parameters of the testbed CPU model")
    args = ap.parse_args()
    torch.set_num_threads(1)

    texts = [d["text"] for d in pretraining_documents(args.docs, 123, CorpusMix())]
    t0 = time.perf_counter()
    for _ in range(5):
        mask = prefilter_mask(texts)
    prefilter_dps = 5 * len(texts) / (time.perf_counter() - t0)

    tok, model = load_minilm()
    classify(texts[:32])  # warm-up
    t0 = time.perf_counter()
    classify(texts)
    classifier_dps = len(texts) / (time.perf_counter() - t0)

    lengths = [len(ids) for ids in tok(texts, add_special_tokens=True)["input_ids"]]
    corpus_tokens = sum(lengths)
    classified_tokens = sum(min(n, MAX_TOKENS) for n, keep in zip(lengths, mask, strict=True) if keep)
    n_minilm = sum(p.numel() for p in model.parameters())
    classify_flops = 2 * n_minilm * classified_tokens
    out = {
        "documents": len(texts),
        "prefilter_pass_fraction": round(sum(mask) / len(texts), 3),
        "prefilter_docs_per_s_per_core": round(prefilter_dps),
        "classifier_docs_per_s_per_core": round(classifier_dps, 1),
        "minilm_params": n_minilm,
        "corpus_tokens_minilm_tokenizer": corpus_tokens,
        "classification_flops": float(classify_flops),
    }
    for name, n_params in (("testbed_cpu_model", args.testbed_params), ("6.9B_model", 6.9e9)):
        out[f"fraction_of_pretraining_flops_{name}"] = classify_flops / (6 * n_params * corpus_tokens)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
