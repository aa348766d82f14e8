"""User-facing errors.

Anything a researcher can cause with bad input (a malformed file, an unknown model
reference, an unreachable judge) raises :class:`EmlabError`. The CLI prints its
message on one line and exits with status 2; nothing else should be printed.
"""


class EmlabError(Exception):
    """An error caused by user input, with a message that names the file, line or field."""
