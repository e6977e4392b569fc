"""Training windows of frames cut from a prepared frame stream, resumable mid-epoch.

The frame twin of :mod:`tunesmith.data.windows`, with the same :class:`WindowSampler` (so the
same data order, rank dealing and skip-on-resume): a window is ``seq_len + 1`` stored rows,
widened to float32 by the representation, and split into inputs and targets shifted by one frame.

Optional transposition augmentation (``data.transpose = N``) shifts each training window by its
own random -N..+N semitones. The shifts are drawn from a generator seeded by (seed, epoch,
batch, rank) alone, so a resumed run sees exactly the shifts the uninterrupted one would. This is
how tunesmith answers seed 000's "every piece in a different key": the model sees each passage in
many keys instead of memorising one.

``windows`` chooses where training windows start, as for tokens: ``stream`` (a random phase),
``piece`` (aligned to each piece's start) or ``shifted`` (seed 001: a batch of windows ``shift``
frames apart around one random start; see :class:`WindowSampler`). Validation windows are always
read in order from the start of the stream, so validation losses compare across these choices.
"""

from __future__ import annotations

import numpy as np
import torch

from tunesmith.data.prepared import PreparedData
from tunesmith.data.windows import WindowLoader, WindowSampler, piece_starts
from tunesmith.errors import TunesmithError
from tunesmith.representations import FrameRepresentation

MAX_TRANSPOSE = 24


class FrameLoader(WindowLoader):
    """An iterable of ``(inputs, targets)`` float32 tensors ``(batch, seq_len, frame_dim)``.

    Like :class:`WindowLoader` it exposes ``sampler.set_epoch`` and ``state_dict``/``load_state_dict``
    (batches served), which Lightning calls and saves.
    """

    def __init__(
        self,
        stream: np.ndarray,
        sampler: WindowSampler,
        representation: FrameRepresentation,
        *,
        transpose: int = 0,
    ):
        super().__init__(stream, sampler)
        if transpose and not representation.can_transpose:
            raise TunesmithError(f"data.transpose: '{representation.name}' frames cannot be transposed; set it to 0")
        if not 0 <= transpose <= MAX_TRANSPOSE:
            raise TunesmithError(f"data.transpose {transpose} is out of range: choose 0 (off) to {MAX_TRANSPOSE}")
        self.representation, self.transpose = representation, transpose

    def shifts(self, batch: int, size: int) -> np.ndarray:
        """Semitone shifts of the windows of batch number ``batch`` of the current epoch."""
        s = self.sampler
        rng = np.random.default_rng([s.seed, s.epoch, batch, s.rank])
        return rng.integers(-self.transpose, self.transpose + 1, size=size)

    def window(self, starts: np.ndarray, batch: int) -> torch.Tensor:
        """Float32 frames ``(len(starts), seq_len + 1, frame_dim)``, transposed when asked."""
        frames = self.representation.to_model(self.stream[starts[:, None] + self._offsets])
        if self.transpose:
            shifts = self.shifts(batch, len(starts))
            frames = np.stack([self.representation.transpose(f, int(k)) for f, k in zip(frames, shifts, strict=True)])
        return torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32))


def frame_loaders(
    data: PreparedData,
    *,
    seq_len: int,
    batch_size: int,
    seed: int,
    transpose: int = 0,
    rank: int = 0,
    world_size: int = 1,
    windows: str = "stream",
    shift: int = 1,
) -> tuple[FrameLoader, FrameLoader]:
    """Train (shuffled, transposed) and validation (in order, as stored) loaders for one rank."""
    if windows not in ("stream", "piece", "shifted"):
        raise TunesmithError(f"data.windows must be stream, piece or shifted, not {windows!r}")
    rep = data.representation
    if not isinstance(rep, FrameRepresentation):
        raise TunesmithError(f"{data.folder} holds '{rep.name}' tokens, not frames")
    streams = {split: data.stream(split) for split in ("train", "val")}
    for split, stream in streams.items():
        if stream.ndim != 2:
            raise TunesmithError(f"{data.folder}: meta.json has no frame_width; prepare it again")
        if len(stream) < 2 * seq_len:
            raise TunesmithError(
                f"the {split} split of {data.folder} has {len(stream)} frames, too few for windows of "
                f"data.seq_len = {seq_len}; prepare more music or lower data.seq_len"
            )
    n_train = len(streams["train"])
    train = WindowSampler(
        n_train,
        seq_len,
        batch_size,
        shuffle=True,
        seed=seed,
        rank=rank,
        world_size=world_size,
        starts=piece_starts(data.offsets("train"), seq_len, n_train) if windows == "piece" else None,
        shift=shift if windows == "shifted" else 0,
    )
    val = WindowSampler(len(streams["val"]), seq_len, batch_size, shuffle=False, rank=rank, world_size=world_size)
    if len(train) == 0 or len(val) == 0:
        raise TunesmithError(f"{data.folder} is too small to give each of {world_size} processes a batch")
    return (
        FrameLoader(streams["train"], train, rep, transpose=transpose),
        FrameLoader(streams["val"], val, rep),
    )
