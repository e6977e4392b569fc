"""Reading checkpoints safely, without importing Lightning."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import torch

from tunesmith.errors import TunesmithError


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint without unpickling arbitrary objects; a damaged file is named."""
    if not path.is_file():
        raise TunesmithError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, KeyError) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise TunesmithError(f"checkpoint {path} is corrupt or truncated ({reason})") from None
    except Exception as exc:  # an unpickling refusal means the file is not one of ours
        raise TunesmithError(f"checkpoint {path} cannot be read safely ({type(exc).__name__})") from None
