"""Recurrent character models: the RNN, LSTM and GRU families the seeds compared.

Tokens are embedded (or one-hot encoded when ``embed_dim`` is 0, as in seed 002), run
through a stack of PyTorch's fused recurrent layers, and projected back to the vocabulary.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import _VF, nn

from tunesmith.models import register
from tunesmith.models.base import SequenceModel

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None


def cell_step(rnn: nn.RNNBase, cell: str, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
    """One time step through every layer of ``rnn`` with PyTorch's fused single-step cell kernels (what
    ``nn.LSTMCell`` runs): several times faster than the layer on length-1 sequences, same weights."""
    hs, cs = [], []
    for layer in range(rnn.num_layers):
        weights = [getattr(rnn, f"{name}_l{layer}") for name in _WEIGHTS]
        if cell == "lstm":
            x, c = _VF.lstm_cell(x, (state[0][layer], state[1][layer]), *weights)
            cs.append(c)
        elif cell == "gru":
            x = _VF.gru_cell(x, state[layer], *weights)
        else:
            x = _VF.rnn_tanh_cell(x, state[layer], *weights)
        hs.append(x)
    return x, (torch.stack(hs), torch.stack(cs)) if cell == "lstm" else torch.stack(hs)


def select_state(state: State, rows: torch.Tensor) -> State:
    """Keep batch ``rows`` of a recurrent state (the batch is dimension 1 for PyTorch's RNNs)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.index_select(1, rows) for s in state)
    return state.index_select(1, rows)


def cat_states(states: list[State]) -> State:
    """Stack the batch rows of several recurrent states, so a sampler can start new tunes in freed rows."""
    if isinstance(states[0], tuple):
        return tuple(torch.cat(parts, 1) for parts in zip(*states, strict=True))
    return torch.cat(states, 1)


class RecurrentLM(SequenceModel):
    can_refill = True  # rows of a recurrent state are independent: a freed row takes the next tune

    def __init__(
        self,
        vocab_size: int,
        cell: str = "lstm",
        embed_dim: int = 64,
        hidden: int = 512,
        layers: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.vocab_size, self.cell, self.embed_dim = vocab_size, cell, embed_dim
        self.embed = nn.Embedding(vocab_size, embed_dim) if embed_dim > 0 else None
        self.rnn = CELLS[cell](
            embed_dim or vocab_size,
            hidden,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def features(self, tokens: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """Top-layer hidden states for every position, and the state after the last one."""
        x = self.embed(tokens) if self.embed is not None else F.one_hot(tokens, self.vocab_size).float()
        out, state = self.rnn(self.drop(x), state)
        return out, state

    def forward(self, tokens: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        out, state = self.features(tokens, state)
        return self.head(self.drop(out)), state

    def step(self, tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Logits for one new token per sequence, ``tokens`` shaped ``(batch,)``; for sampling.

        The fused single-step cell kernels (what ``nn.LSTMCell`` runs) are several times faster
        than the multi-step layer called on length-1 sequences. Same weights, same maths.
        """
        x = self.embed(tokens) if self.embed is not None else F.one_hot(tokens, self.vocab_size).float()
        x, new_state = cell_step(self.rnn, self.cell, x, state)
        return self.head(x), new_state

    select_state = staticmethod(select_state)
    cat_states = staticmethod(cat_states)


@register("rnn", "lstm", "gru")
def build(name: str, vocab_size: int, **hyper: Any) -> RecurrentLM:
    return RecurrentLM(
        vocab_size,
        cell=name,
        embed_dim=hyper.get("embed_dim", 64),
        hidden=hyper.get("hidden", 512),
        layers=hyper.get("layers", 1),
        dropout=hyper.get("dropout", 0.0),
    )
