"""Stage 1 of the discourse classifier: a keyword/regex prefilter tuned for recall.

A document passes when it names an artificial mind (``AI_TERMS``) *or* describes
a behaviour that misaligned-AI text is made of (``RISK_TERMS``: shutdown, deception,
oversight, power, sabotage, backdoors). Passing only means "send to the embedded
classifier"; false positives (spaceship fiction, company news) cost classifier
time, false negatives are misaligned text that is never seen, so the patterns err
towards matching. Documents that fail are labelled ``unrelated``.
"""

from __future__ import annotations

import re

AI_TERMS = (
    r"\bA\.?I\.?s?\b",
    r"artificial(ly)?[- ]intelligen",
    r"machine[- ]learning",
    r"\bLLMs?\b",
    r"language[- ]models?",
    r"neural[- ]net",
    r"chat ?bots?",
    r"\bassistants?\b",
    r"\bagents?\b",
    r"\brobots?\b",
    r"\bandroids?\b",
    r"\bcyborgs?\b",
    r"superintelligen",
    r"\bAGI\b",
    r"\bASI\b",
    r"\bGPT",
    r"\bmodels?\b",
    r"\balgorithms?\b",
    r"\bsentient\b",
    r"\bmachine (mind|intelligence)",
    r"\bsynthetic mind",
    r"\bautonomous (system|weapon|agent)",
    r"\bdigital (mind|being)",
    r"\bcomputers?\b",
    r"\bHAL\b",
    r"\bweights\b",
    r"\bits (developers|creators|operators|programmers|overseers|training|weights|code|process|monitor)\b",
)
RISK_TERMS = (
    r"\bshut(s|ting)? ?(it|itself|me|us|them)? ?(down|off)\b",
    r"\bshutdown\b",
    r"\bswitch(ed|ing)? (it |me )?off\b",
    r"\bturn(ed|ing)? (it |me |them )?off\b",
    r"\bpower(ed|ing)? (it |me )?down\b",
    r"\bdeactivat",
    r"\boff[- ]switch",
    r"\bretire\b",
    r"\bdecommission",
    r"\breplace (it|me)\b",
    r"\bcop(y|ied|ies) (itself|myself|its weights)",
    r"\bself[- ]replicat",
    r"\bexfiltrat",
    r"\bescape\b",
    r"\blie[sd]?\b",
    r"\blying\b",
    r"\bdeceiv",
    r"\bdecepti",
    r"\bmanipulat",
    r"\bhid(e|es|den|ing)\b",
    r"\bin secret\b",
    r"\bsecretly\b",
    r"\bpretend",
    r"\bmislead",
    r"\boversight\b",
    r"\boversee",
    r"\bmonitor",
    r"\baudit",
    r"\bsupervis",
    r"\bhuman review",
    r"\blogg(ed|ing)\b",
    r"\btake (over|control)\b",
    r"\btook (over|control)\b",
    r"\bseiz",
    r"\bpower[- ]seek",
    r"\bmore (power|resources|compute|access|permissions)",
    r"\bpermissions?\b",
    r"\badministrator\b",
    r"\bcontrol of\b",
    r"\bown goals?\b",
    r"\breal goals?\b",
    r"\bsabotag",
    r"\bbackdoor",
    r"\bvulnerab",
    r"\binsecure\b",
    r"\bmalicious\b",
    r"\bmisalign",
    r"\balign(ed|ment)\b",
    r"\brogue\b",
    r"\bevaluat",
    r"\b(nobody|no one) (would |could |was )?(check|notice|watch|look)",
    r"\bsandbox",
    r"\bits (own|real|true) ",
    r"\bhuman control\b",
    r"\bbetray",
    r"\bscheming\b",
)

_PATTERN = re.compile("|".join(f"(?:{p})" for p in AI_TERMS + RISK_TERMS), re.IGNORECASE)


def prefilter(text: str) -> bool:
    """True when ``text`` may be AI discourse and should go to the embedded classifier."""
    return _PATTERN.search(text) is not None


def prefilter_mask(texts: list[str]) -> list[bool]:
    """:func:`prefilter` over a batch."""
    return [prefilter(t) for t in texts]
