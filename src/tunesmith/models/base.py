"""The hooks every sequence model declares, so samplers call methods instead of probing with ``hasattr``.

A model is still a plain ``nn.Module`` (nothing here knows optimisers or data): ``forward(x, state)``
reads a batch of sequences and returns ``(outputs, state)``. The sampler also calls:

- ``init_state(batch, device)``: the state before the first input (None for a recurrent model, which
  starts from zeros; an empty key/value cache for a transformer);
- ``step(x, state)``: outputs for one more input per row, ``x`` shaped ``(batch,)`` for tokens or
  ``(batch, frame_dim)`` for frames; by default ``forward`` on a length-1 sequence;
- ``select_state(state, rows)``: keep some rows, so finished pieces leave the batch;
- ``cat_states([a, b])``: stack rows, where ``can_refill`` says the state allows it, so a waiting piece
  takes a freed row at once (a recurrent state can; a key/value cache shares one length and cannot).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn


class SequenceModel(nn.Module):
    can_refill: ClassVar[bool] = False

    def init_state(self, batch: int, device: torch.device | str = "cpu") -> Any:
        return None

    def step(self, x: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        out, state = self(x[:, None], state)
        return out[:, -1], state

    @staticmethod
    def select_state(state: Any, rows: torch.Tensor) -> Any:
        raise NotImplementedError("a sequence model says how to keep some rows of its state")

    @staticmethod
    def cat_states(states: list[Any]) -> Any:
        raise NotImplementedError("only models with can_refill = True stack states")
