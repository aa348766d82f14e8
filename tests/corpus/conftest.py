"""Shared fixtures for the corpus tests."""

from __future__ import annotations

import pytest

from emlab.corpus.classifier import CachedClassifier


@pytest.fixture(scope="session")
def scorer() -> CachedClassifier:
    """The real packaged classifier, memoised so the session embeds each text once."""
    return CachedClassifier()
