"""One exception type for mistakes a person can fix.

The CLI prints a ``TunesmithError`` as a single line and exits non-zero; anything
else is a bug and keeps its traceback.
"""


class TunesmithError(Exception):
    """A problem with the user's input, files or settings, worded for a person."""


class TextRefused(TunesmithError):
    """A user's text (a primer) refused at one character: the CLI prints the message; the studio shows ``pos``
    (0-based) as a line and column beside the field, with what ABC allows there."""

    def __init__(self, message: str, *, pos: int, char: str, allowed: str = "", unknown: bool = False):
        super().__init__(message)
        self.pos, self.char, self.allowed, self.unknown = pos, char, allowed, unknown
