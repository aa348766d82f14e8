"""User-facing errors.

Anything a researcher can cause with bad input (a malformed file, an unknown model
reference, an unreachable judge) raises :class:`EmlabError`. The CLI prints its
message on one line and exits with status 2; nothing else should be printed.
"""


class EmlabError(Exception):
    """An error caused by user input, with a message that names the file, line or field."""


def format_validation_error(err: "ValidationError") -> str:  # noqa: F821 - pydantic imported lazily
    """One line naming the first invalid field of a pydantic ``ValidationError``."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "row"
    return f"field '{loc}': {first['msg'].removeprefix('Value error, ')}"  # a validator's own message, without pydantic's prefix
