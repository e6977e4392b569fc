"""Training windows cut from a token stream, resumable mid-epoch.

Each epoch cuts the split's stream into windows of ``seq_len + 1`` tokens at a random phase
(or, with ``data.windows = piece``, at fixed starts aligned to the pieces: :func:`piece_starts`),
shuffles them with a generator seeded by ``(seed, epoch)``, and deals them out to ranks. The
loader counts the batches it has handed out and saves that count in every checkpoint
(Lightning calls ``state_dict``), so a run killed mid-epoch resumes at the next unseen batch
with exactly the data order the uninterrupted run would have used.

With ``shift`` (``data.windows = shifted``, seed 001) a training batch is instead ``batch_size``
windows that start at p, p + shift, p + 2·shift, … around one random p per batch: the model sees the
same passage at many small offsets side by side, which seed 001 found it needed to learn to be
equivariant to shifts. The p of every batch of an epoch is drawn from the (seed, epoch) generator,
so the skip-on-resume above gives the same batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch


class WindowSampler:
    """Window start offsets for one rank, batch by batch."""

    def __init__(
        self,
        n_tokens: int,
        seq_len: int,
        batch_size: int,
        *,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        starts: np.ndarray | None = None,
        shift: int = 0,
    ):
        if shift and (not shuffle or starts is not None):
            raise ValueError("shifted batches are drawn at random: they need shuffle=True and no fixed starts")
        self.seq_len, self.batch_size, self.shuffle, self.seed = seq_len, batch_size, shuffle, seed
        self.rank, self.world_size, self.shift = rank, world_size, shift
        self.starts = None if starts is None else np.asarray(starts, dtype=np.int64)  # fixed starts: piece windows
        self.n_windows = max(0, (n_tokens - seq_len) // seq_len) if starts is None else int(self.starts.size)
        self.per_rank = self.n_windows // world_size
        drop_last = shuffle and self.per_rank >= batch_size
        self.n_batches = self.per_rank // batch_size if drop_last else -(-self.per_rank // batch_size)
        if shift:  # as many batches as stream windows would make, each covering one span of the stream
            span = (batch_size - 1) * shift + seq_len + 1
            self.n_positions = max(0, n_tokens - span + 1)  # where a batch's first window may start
            self.n_batches = max(1, self.per_rank // batch_size) if self.n_positions else 0
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n_batches

    def batches(self, skip: int = 0) -> Iterator[np.ndarray]:
        if self.shift:
            rng = np.random.default_rng([self.seed, self.epoch])
            firsts = rng.integers(0, self.n_positions, size=self.n_batches * self.world_size)[
                self.rank :: self.world_size
            ]
            offsets = np.arange(self.batch_size, dtype=np.int64) * self.shift
            for b in range(skip, self.n_batches):
                yield firsts[b] + offsets
            return
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self.epoch])
            phase = int(rng.integers(0, self.seq_len))
            order = rng.permutation(self.n_windows)
        else:
            phase, order = 0, np.arange(self.n_windows)
        mine = order[self.rank :: self.world_size][: self.per_rank]
        starts = phase + mine.astype(np.int64) * self.seq_len if self.starts is None else self.starts[mine]
        for b in range(skip, self.n_batches):
            yield starts[b * self.batch_size : (b + 1) * self.batch_size]


def piece_starts(offsets: np.ndarray, seq_len: int, n_tokens: int) -> np.ndarray:
    """Window starts aligned to pieces: each piece's first token, then every ``seq_len`` tokens into it.

    With ``seq_len`` at least the longest piece, every window is one whole piece read from its
    start (whole-piece training); shorter windows still never begin mid-phrase at random.
    """
    starts = [np.arange(a, max(a + 1, b - 1), seq_len) for a, b in zip(offsets[:-1], offsets[1:], strict=False)]
    flat = np.concatenate(starts) if starts else np.zeros(0, np.int64)
    return flat[flat + seq_len + 1 <= n_tokens]


class WindowLoader:
    """An iterable of ``(inputs, targets)`` LongTensor pairs of shape ``(batch, seq_len)``.

    It exposes ``sampler.set_epoch`` (which Lightning calls each epoch) and
    ``state_dict``/``load_state_dict`` (which Lightning saves in checkpoints).
    """

    def __init__(self, stream: np.ndarray, sampler: WindowSampler):
        self.stream = stream
        self.sampler = sampler
        self.batch_sampler = None  # Lightning inspects DataLoader-like attributes
        self._offsets = np.arange(sampler.seq_len + 1, dtype=np.int64)
        self._served = 0
        self._resume: tuple[int, int] | None = None  # (epoch, batches already served)

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        skip = 0
        if self._resume is not None:
            epoch, served = self._resume
            self._resume = None
            if epoch == self.sampler.epoch:
                skip = served
        self._served = skip
        for starts in self.sampler.batches(skip):
            window = self.window(starts, self._served)
            self._served += 1
            yield window[:, :-1], window[:, 1:]

    def window(self, starts: np.ndarray, batch: int) -> torch.Tensor:
        """The ``seq_len + 1`` ids from each start, as int64; ``batch`` (its number in the epoch) lets a
        subclass seed per-batch augmentation."""
        return torch.from_numpy(self.stream[starts[:, None] + self._offsets].astype(np.int64))

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.sampler.epoch, "served": self._served}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._resume = (int(state["epoch"]), int(state["served"]))
