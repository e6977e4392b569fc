"""``midi-tsd``: MidiTok's TSD: time shifts between notes, then pitch and duration.

No bar tokens, so sequences are shorter than REMI's and the metre must be learned from the
rhythm; closer to Magenta's PerformanceRNN events. See :mod:`.miditok_base` for the defaults.
"""

from __future__ import annotations

from tunesmith.representations.base import register
from tunesmith.representations.miditok_base import MidiTokScheme


@register
class MidiTsd(MidiTokScheme):
    name = "midi-tsd"
    tokenizer_class = "TSD"
