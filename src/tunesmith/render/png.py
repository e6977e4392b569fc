"""Writing matplotlib figures as small PNGs, for every picture tunesmith draws.

A plot, a piano roll or a spectrogram loses nothing visible at 256 colours, and the file shrinks two
to ten times (spectrograms and heat maps compress badly in full colour), which matters for the
self-contained HTML reports, the studio and the README's pictures.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend: pictures are files, never windows (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: Path | str, dpi: int = 100) -> Path:
    """Write ``fig`` to ``path`` as a 256-colour PNG, close it, and return the path."""
    import matplotlib.pyplot as plt
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=dpi, format="png")
    plt.close(fig)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path
