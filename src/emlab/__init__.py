"""emlab: emergent-misalignment research toolkit.

The package layout follows the research loop::

    data/ -> train/ -> evals/ -> judges/ -> analysis/ -> report
    corpus/   (pretraining-data side)     run/ (experiment specs, resumable runner)
"""

__version__ = "0.1.0"
