"""What a user asks of a sampler, checked once: ranges before a model loads, the rest against its representation."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunesmith.errors import TunesmithError
from tunesmith.untrusted import finite

if TYPE_CHECKING:
    from tunesmith.representations import Representation

MAX_NUM = 1000  # pieces per call; documented in the CLI help
MAX_LENGTH = 20000  # characters, tokens or frames per piece
MAX_BATCH = 1024
MAX_PRIMER = 10000
MAX_TEMPERATURE = 100.0
MAX_SEED = 2**63 - 1
MAX_SECONDS = 60.0  # audio continuations (media/audio_samples.py says the same)
MAX_PRIMER_BARS = 64  # bars of --primer-midi (media/midi_samples.py says the same)
MAX_KIND = 40  # characters of --meter, --key or --rhythm


@dataclass
class SampleSettings:
    num: int = 10
    temperature: float = 1.0
    top_k: int = 0  # 0 = no top-k filter
    top_p: float = 1.0  # 1 = no nucleus filter
    primer: str = ""
    max_length: int = 1000
    seed: int = 0
    batch_size: int = 64
    constrain: bool = False  # mask symbols that would make invalid ABC (ABC models; the ABC medium hands the guard)

    def check(self) -> None:
        """Refuse settings that cannot work for any model, with the value named: called before a model loads."""
        if not 1 <= self.num <= MAX_NUM:
            raise TunesmithError(f"--num {self.num} is out of range: choose 1 to {MAX_NUM}")
        if not self.temperature > 0 or self.temperature > MAX_TEMPERATURE:
            raise TunesmithError(f"--temperature {self.temperature} is out of range: above 0 and at most 100")
        if self.top_k < 0:
            raise TunesmithError(f"--top-k {self.top_k} is out of range: choose 0 (off) or more")
        if not 0 < self.top_p <= 1:
            raise TunesmithError(f"--top-p {self.top_p} is out of range: it must be above 0 and at most 1")
        if not 1 <= self.max_length <= MAX_LENGTH:
            raise TunesmithError(f"--max-length {self.max_length} is out of range: choose 1 to {MAX_LENGTH}")
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise TunesmithError(f"--batch-size {self.batch_size} is out of range: choose 1 to {MAX_BATCH}")
        if len(self.primer) > MAX_PRIMER:
            raise TunesmithError(f"--primer is {len(self.primer)} characters; at most {MAX_PRIMER}")
        if not 0 <= self.seed <= MAX_SEED:
            raise TunesmithError(f"--seed {self.seed} is out of range: choose 0 to {MAX_SEED}")
        if len(self.primer) >= self.max_length:
            raise TunesmithError(f"--primer ({len(self.primer)} characters) must be shorter than --max-length")

    def check_for(self, rep: Representation) -> None:
        """``check``, then what depends on the model's representation: its vocabulary, or that frames have none."""
        self.check()
        if rep.kind == "tokens":
            vocab = rep.vocab_size  # type: ignore[attr-defined]
            if self.top_k > vocab:
                raise TunesmithError(f"--top-k {self.top_k} is out of range: choose 0 (off) to {vocab}")
        elif self.top_k or self.top_p < 1.0:
            raise TunesmithError(
                "--top-k and --top-p choose among tokens; frame models sample each bit (leave them off)"
            )


def check_request(request: Any) -> None:
    """Bound the options of ``tunesmith sample`` beyond the settings (a :class:`~tunesmith.media.SampleRequest`)
    whatever the model's medium: one that ignores ``--seconds`` still refuses ``--seconds -1`` rather
    than accept it silently. Called with :meth:`SampleSettings.check`, before a model loads."""
    seconds = request.seconds
    if not finite(seconds) or not 0 < seconds <= MAX_SECONDS:
        raise TunesmithError(f"--seconds {seconds} is out of range: above 0 and at most {MAX_SECONDS:g}")
    if not 1 <= request.primer_bars <= MAX_PRIMER_BARS:
        raise TunesmithError(f"--primer-bars {request.primer_bars} is out of range: choose 1 to {MAX_PRIMER_BARS}")
    for option, value in request.kind().items():  # one header value each: no line breaks to smuggle in more
        if len(value) > MAX_KIND or not value.strip() or not value.isprintable():
            raise TunesmithError(f"{option} {value[:MAX_KIND]!r} must be one line of 1 to {MAX_KIND} characters")


def unescape(text: str) -> str:
    r"""Read ``\n`` and ``\t`` typed on a command line as the characters they name."""
    try:
        return codecs.decode(text.encode("latin-1", "backslashreplace"), "unicode_escape")
    except UnicodeDecodeError as exc:
        raise TunesmithError(f"--primer has a malformed escape sequence ({exc.reason})") from None
