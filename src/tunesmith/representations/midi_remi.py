"""``midi-remi``: MidiTok's REMI (Huang & Yang, 2020): bars, positions in the bar, pitch and duration.

Bar and position tokens give the model the metre explicitly, which suits scores with a
steady beat such as the chorales. See :mod:`.miditok_base` for the defaults and BPE.
"""

from __future__ import annotations

from tunesmith.representations.base import register
from tunesmith.representations.miditok_base import MidiTokScheme


@register
class MidiRemi(MidiTokScheme):
    name = "midi-remi"
    tokenizer_class = "REMI"
