"""One exception type for mistakes a person can fix.

The CLI prints a ``TunesmithError`` as a single line and exits non-zero; anything
else is a bug and keeps its traceback.
"""


class TunesmithError(Exception):
    """A problem with the user's input, files or settings, worded for a person."""
