"""MidiTok's tokenizers behind tunesmith's representation interface (``midi-remi``, ``midi-tsd``).

The tokenizer's own JSON (what ``tokenizer.save`` writes, as ``tokenizer.json`` in a prepared
folder) is the representation's state, so a run or a bundle restores the exact vocabulary,
learned merges included, without the corpus. MidiTok reads that JSON with ``json`` and the
Hugging Face ``tokenizers`` library: nothing is unpickled.

Defaults suit scores rather than performances: every non-drum track merged into one stream
(a four-voice chorale becomes one line of tokens, as a pianist would read it), no velocity
tokens (the built-in scores have none worth learning), tempo and time-signature tokens kept.
``vocab_size`` above the base vocabulary trains MidiTok's BPE on the corpus.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.representations.midi_tokens import MidiTokenRepresentation, SyntaxReport, build_score, score_notes

MAX_VOCAB = 65536
NOTE_TYPES = ("Pitch", "NoteOn", "PitchDrum")


def default_config() -> Any:
    import miditok

    return miditok.TokenizerConfig(
        pitch_range=(21, 109),
        use_velocities=False,
        use_tempos=True,
        num_tempos=32,
        tempo_range=(40, 250),
        use_time_signatures=True,
        special_tokens=["PAD", "BOS", "EOS"],
    )


def merged(score: Any) -> Any:
    """All non-drum notes of ``score`` in one track, keeping its ticks, tempos and time signatures."""
    import symusic

    out = symusic.Score(score.ticks_per_quarter)
    out.tempos, out.time_signatures = score.tempos, score.time_signatures
    track = symusic.Track("music", program=0)
    for t in score.tracks:
        if not t.is_drum:
            track.notes.extend(t.notes)
    track.notes.sort()
    out.tracks.append(track)
    return out


class MidiTokScheme(MidiTokenRepresentation):
    """A MidiTok tokenizer class (``tokenizer_class``) configured and saved with the data."""

    tokenizer_class: ClassVar[str]

    def __init__(self, params: dict[str, Any]):
        import miditok

        with tempfile.TemporaryDirectory() as tmp:  # MidiTok loads its params from a file
            path = Path(tmp) / "tokenizer.json"
            path.write_text(json.dumps(params))
            self.tokenizer = getattr(miditok, self.tokenizer_class)(params=path)
        if self.tokenizer.one_token_stream:
            raise ValueError("only single-stream configurations are supported (use_programs must be off)")
        if len(self.tokenizer) > MAX_VOCAB:
            raise ValueError(f"vocabulary of {len(self.tokenizer)} is over {MAX_VOCAB}")
        self.params = params
        vocab = self.tokenizer.vocab
        self.start_id, self.end_id, self.pad_id = vocab["BOS_None"], vocab["EOS_None"], vocab["PAD_None"]

    learns_merges = True

    def tokenizer_file(self) -> dict[str, Any] | None:
        return self.params

    @classmethod
    def fit(cls, items: list[Any], vocab_size: int = 0, **_: Any) -> MidiTokScheme:
        """The default configuration; with ``vocab_size`` above the base vocabulary, BPE merges learned on ``items``."""
        import miditok

        tokenizer = getattr(miditok, cls.tokenizer_class)(default_config())
        if vocab_size and vocab_size > len(tokenizer):
            if vocab_size > MAX_VOCAB:
                raise TunesmithError(f"--vocab-size {vocab_size} is over {MAX_VOCAB}")
            with tempfile.TemporaryDirectory() as tmp:
                files = []
                for i, score in enumerate(items):
                    path = Path(tmp) / f"{i:06d}.mid"
                    merged(score).dump_midi(path)
                    files.append(path)
                tokenizer.train(vocab_size=vocab_size, model="BPE", files_paths=files)
        with tempfile.TemporaryDirectory() as tmp:
            tokenizer.save(tmp)
            return cls(json.loads((Path(tmp) / "tokenizer.json").read_text()))

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def encode(self, item: Any) -> np.ndarray:
        streams = self.tokenizer.encode(merged(item))
        ids = streams[0].ids if streams else []
        return np.asarray([self.start_id, *ids, self.end_id], dtype=self.dtype)

    def tokens(self, ids: np.ndarray) -> list[str]:
        """Base-vocabulary token names of ids (learned merges split back into their parts)."""
        from miditok import TokSequence

        seq = TokSequence(ids=[int(i) for i in ids], are_ids_encoded=self.tokenizer.is_trained)
        if self.tokenizer.is_trained:
            self.tokenizer.decode_token_ids(seq)
        self.tokenizer.complete_sequence(seq)
        return list(seq.tokens)

    def check(self, array: np.ndarray) -> SyntaxReport:
        """MidiTok's own rules (its ``tokens_errors``), with a reason per token: a type that may not follow the
        previous one (e.g. a pitch with no duration), or a position that does not move forward in its bar."""
        names = self.tokens(self.body(array))
        report = SyntaxReport(len(names))
        graph = self.tokenizer.tokens_types_graph
        previous, position = None, -1
        for i, name in enumerate(names):
            kind, value = name.split("_", 1)
            if previous is not None and kind not in graph.get(previous, ()):
                report.errors.append(f"{name} cannot follow a {previous} token")
                previous = kind
                continue
            if name == "Bar_None":
                position = -1
            elif kind == "Position":
                after_rest = previous == "Rest" or (
                    previous == "TimeSig" and i >= 2 and names[i - 2].startswith("Rest")
                )
                if int(value) <= position and not after_rest:
                    report.errors.append(f"{name} does not move forward in its bar")
                position = int(value)
            previous = kind
        return report

    def decode(self, array: np.ndarray) -> Any:
        ids = [int(i) for i in self.body(array) if i not in (self.start_id, self.end_id, self.pad_id)]
        if not ids:
            return build_score(score_notes(merged(_empty_score())))
        return self.tokenizer.decode([ids])

    def ids(self, text: str, what: str = "text") -> np.ndarray:
        """Ids of space-separated base token names (e.g. ``"Bar_None Position_0 Pitch_60 Duration_1.0.8"``)."""
        vocab = self.tokenizer.vocab
        words = text.split()
        bad = [w for w in words if w not in vocab]
        if bad:
            raise TunesmithError(f"{what}: {bad[0]!r} is not a token of this model's vocabulary")
        base = [vocab[w] for w in words]
        if self.tokenizer.is_trained:
            from miditok import TokSequence

            seq = TokSequence(ids=base)
            self.tokenizer.encode_token_ids(seq)
            base = seq.ids
        return np.asarray(base, dtype=np.int64)

    def state(self) -> dict[str, Any]:
        return {"tokenizer": self.params}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> MidiTokScheme:
        params = state["tokenizer"]
        if not isinstance(params, dict):
            raise ValueError("tokenizer must be MidiTok's saved parameters (a JSON object)")
        return cls(params)


def _empty_score() -> Any:
    import symusic

    return symusic.Score(480)
