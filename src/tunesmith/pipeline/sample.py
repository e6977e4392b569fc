"""``tunesmith sample``: load a run or bundle, then let its medium generate, write and report the pieces.

The output folder holds one model's pieces at a time, whatever the medium: numbered files (``001.abc``,
``001.mid``, ``001.wav``, ``001.png``, ``001-p2.svg``…) and the ``samples.json`` that describes them.

- A new or empty folder is used as it is.
- A folder whose ``samples.json`` names the same model (the same run or bundle folder) is sampled again:
  its earlier pieces are removed first, so none of them (a ``010.abc`` beyond a smaller ``--num``, a
  ``001.wav`` from an earlier ``--render wav``) can pass for one of the new pieces.
- Any other non-empty folder (another model's samples, or files ``sample`` did not write) is refused,
  unless ``overwrite`` is given: then the earlier pieces and ``samples.json`` are removed first. Files
  that are not pieces (``notes.txt``, subfolders) are never touched.

The earlier pieces are moved aside, not deleted, until the new ones are written: a request the medium
refuses late (a primer the grammar rejects, ``--prime-audio`` for an ABC model) or Ctrl-C leaves the
folder as it was.

``--meter``, ``--key`` and ``--rhythm`` ask for a kind of tune: once the model (and its corpus profile) is
loaded, its medium turns them into the primer (:mod:`tunesmith.media.abc_kind` for ABC; the other media
refuse them), so they take the place of ``--primer`` and are refused beside it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from tunesmith import media
from tunesmith.errors import TunesmithError
from tunesmith.media import PiecesReport, SampleRequest
from tunesmith.sampling import SampleSettings
from tunesmith.sampling.settings import check_request

SUMMARY = "samples.json"
STASH_PREFIX = ".sample-previous-"  # where the earlier pieces wait while new ones are written
_PIECE = re.compile(r"^\d{3,}(?:-p\d+)?\.[A-Za-z0-9]+$")  # 001.abc, 0042.mid, 001-p2.svg (a score's page 2)


def is_piece(path: Path) -> bool:
    """A file ``sample`` writes for one piece (any medium, any ``--render`` format), or ``samples.json``; also
    a stash of earlier pieces that a killed ``sample`` left behind."""
    if path.name.startswith(STASH_PREFIX):
        return path.is_dir()
    return path.name == SUMMARY or (_PIECE.match(path.name) is not None and not path.is_dir())


def previous_model(out: Path) -> str | None:
    """The model an earlier ``sample`` into ``out`` recorded in its ``samples.json`` (None when there is none
    or it cannot be read: a stranger's or broken file names no model)."""
    from tunesmith.untrusted import read_json

    if not (out / SUMMARY).is_file():
        return None
    try:
        recorded = read_json(out / SUMMARY).get("model")
    except TunesmithError:
        return None
    return recorded if isinstance(recorded, str) and recorded else None


def _same_folder(a: Path | str, b: Path | str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False


def check_out(out: Path, model: Path | str, overwrite: bool) -> bool:
    """Whether ``out`` may take ``model``'s pieces (see the module docstring); True when it holds earlier
    pieces that the new ones replace. Refuses a file, and another model's or a stranger's folder without
    ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise TunesmithError(f"--out {out} is a file; give a folder for the samples")
    if not out.is_dir():
        return False
    entries = sorted(out.iterdir())
    if not entries:
        return False
    recorded = previous_model(out)
    if recorded is not None and _same_folder(recorded, model):
        return True
    if overwrite:
        return True
    if recorded is not None:
        what = f"the samples of another model ({recorded})"
    elif any(is_piece(p) for p in entries):
        what = "pieces without a samples.json naming their model"
    else:
        shown = ", ".join(p.name for p in entries[:3]) + (", …" if len(entries) > 3 else "")
        what = f"{len(entries)} files that tunesmith sample did not write ({shown})"
    raise TunesmithError(
        f"--out {out} already holds {what}; choose a new folder, or pass --overwrite to replace its pieces"
    )


def clear_pieces(out: Path, keep: Path | None = None) -> int:
    """Remove the numbered pieces and ``samples.json`` an earlier ``sample`` left in ``out`` (all but ``keep``);
    returns how many."""
    removed = 0
    for path in out.iterdir():
        if path == keep or not is_piece(path):
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed += 1
    return removed


@contextmanager
def replacing_pieces(out: Path) -> Iterator[None]:
    """Move the earlier pieces aside for the ``with`` block: removed when it succeeds, put back (and whatever
    it wrote removed) when it fails."""
    earlier = [p for p in out.iterdir() if is_piece(p)]
    if not earlier:
        yield
        return
    stash = Path(tempfile.mkdtemp(prefix=STASH_PREFIX, dir=out))
    for path in earlier:
        os.replace(path, stash / path.name)
    try:
        yield
    except BaseException:
        clear_pieces(out, keep=stash)
        for path in stash.iterdir():
            os.replace(path, out / path.name)
        stash.rmdir()
        raise
    shutil.rmtree(stash)


def sample(
    model: Path | str,
    settings: SampleSettings,
    out: Path | str,
    request: SampleRequest,
    checkpoint: str = "best",
    *,
    overwrite: bool = False,
) -> PiecesReport:
    """Generate ``settings.num`` pieces with the model at ``model`` into ``out``; the medium writes its files
    (ABC + MIDI, MIDI + piano roll + WAV, or WAV + spectrogram) and ``samples.json``. An ``out`` that holds
    another model's pieces is refused unless ``overwrite`` (see the module docstring)."""
    from tunesmith.bundle import load

    settings.check()  # range checks before the model is loaded; the representation's checks follow
    check_request(request)
    if request.kind() and settings.primer:
        raise TunesmithError(
            f"--primer and {', '.join(request.kind())} both set how every tune begins; give one or the other"
        )
    out = Path(out)
    clear = check_out(out, model, overwrite)
    loaded = load(model, checkpoint)
    request.model, request.model_kind = str(model), loaded.kind
    medium = media.of(loaded.representation)
    if request.kind():  # the header primer for the kind of tune asked, held to the model's corpus
        settings = replace(settings, primer=medium.kind_primer(loaded, settings, request))
    if not clear:
        return medium.write_samples(loaded, settings, out, request)
    with replacing_pieces(out):
        return medium.write_samples(loaded, settings, out, request)
