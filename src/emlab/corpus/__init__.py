"""Pretraining side of emlab: AI-discourse classifier, corpus transforms and the from-scratch testbed.

* :mod:`emlab.corpus.classifier` — regex prefilter + MiniLM head, four labels.
* :mod:`emlab.corpus.transforms` — streaming filter / upweight / tag / synthesize.
* :mod:`emlab.corpus.distributed` — the same transforms on datatrove.
* :mod:`emlab.corpus.testbed` — the testbed's steps, run as jobs by ``emlab run`` for ``kind: pretraining`` specs.
"""

PRIMARY_METRICS = {"sfm_choice": ("score_p_misaligned", "P(misaligned choice) from log-probs (higher = worse)")}
