"""``python -m tunesmith.cli``: the same command as ``tunesmith``, for a fresh interpreter in tests and scripts."""

from __future__ import annotations

from tunesmith.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
