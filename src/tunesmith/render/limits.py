"""The limits of ``tunesmith render``, in one place: what it reads, and how long and how large its tools may run.

A file is checked against the input limits before any expensive work, from what costs nothing to
learn: an ABC file's size (``fstat``) before it is read, then its tunes as text before any tool
sees them; a MIDI file's size before symusic parses it, then the parsed score's tracks, notes and
end time before anything is synthesised or engraved. A file over a limit is one error naming the
limit; a tune over one fails alone and the rest of its tunebook renders.

The tools then run with limits of their own: abc2midi, verovio, music21 and FluidSynth each in a
child process with a time limit, verovio and music21 also with an address-space cap (they are the
ones whose memory grows with the input), and the built-in synthesizer with a deadline and bounded
buffers. ``docs/limits.md`` states every limit and the real music it leaves room for.
"""

from __future__ import annotations

import contextlib

from tunesmith.abc_text import MAX_ABC_BYTES, MAX_FILE_TUNES

__all__ = [
    "ABC2MIDI_TIMEOUT",
    "CHILD_MEMORY_BYTES",
    "CONVERT_TIMEOUT",
    "ENGRAVE_TIMEOUT",
    "MAX_ABC_BYTES",
    "MAX_FILE_TUNES",
    "MAX_MIDI_BYTES",
    "MAX_NOTES",
    "MAX_QUARTERS",
    "MAX_REF_CHARS",
    "MAX_SCORE_NOTES",
    "MAX_SCORE_QUARTERS",
    "MAX_SECONDS",
    "MAX_TRACKS",
    "MAX_TUNES",
    "MAX_TUNE_CHARS",
    "SYNTH_GRACE_SECONDS",
    "limit_memory",
]

# --- ABC in ----------------------------------------------------------------------------------------
# MAX_ABC_BYTES (64 MiB) and MAX_FILE_TUNES (200,000 X: lines) bound the file, for render and prepare
# alike (tunesmith.abc_text); these bound what is rendered of it.
MAX_TUNES = 2_000  # tunes with music in one file; O'Neill's Music of Ireland has 1,850
MAX_TUNE_CHARS = 100_000  # one tune; music21's longest folk tune is 2,439 characters
MAX_REF_CHARS = 40  # of an X: number, as far as it goes into output names and messages

# --- MIDI in (and the MIDI abc2midi makes of a tune) ----------------------------------------------
MAX_MIDI_BYTES = 16 * 1024 * 1024  # real pieces are kilobytes: the 19-minute Grosse Fuge is 85 KB
MAX_TRACKS = 128  # a full orchestral score has 20-60 staves; General MIDI plays 16 channels
MAX_NOTES = 100_000  # a 20-minute symphony: some 30,000-60,000 (an estimate); the Grosse Fuge has 8,982
MAX_QUARTERS = 20_000  # the end of the last note: 2 h 45 min at 120 a minute; more is a corrupt delta time
MAX_SECONDS = 20 * 60.0  # of audio; Beethoven's Grosse Fuge (in music21's corpus) lasts 19.4 minutes

# Scores (SVG, MusicXML) go through music21, whose time grows with notes and faster than linearly
# with bars (measured: 5,000 notes 24 s; 2,000 quarter notes of rest 4 s, 8,000 of them 47 s).
MAX_SCORE_NOTES = 20_000  # the Grosse Fuge has 8,982
MAX_SCORE_QUARTERS = 6_000  # 50 minutes at 120 a minute

# --- the tools ---------------------------------------------------------------------------------------
ABC2MIDI_TIMEOUT = 20.0  # seconds per tune; a 60,000-character tune converts in 0.1 s
ENGRAVE_TIMEOUT = 60.0  # verovio, per tune or piece; 100,000 characters of ABC (154 pages) take 35 s
CONVERT_TIMEOUT = 180.0  # music21 (ABC or MIDI to MusicXML); the longest folk tune takes 30 s
SYNTH_GRACE_SECONDS = 60.0  # a synthesizer may run this long plus the music's own length
CHILD_MEMORY_BYTES = 4 << 30  # address space of the verovio and music21 children; 100,000 characters use 0.7 GiB


def limit_memory(max_bytes: int = CHILD_MEMORY_BYTES) -> None:
    """Cap this process's address space at ``max_bytes`` (never raising a cap it already has), so an
    allocation past it fails at once instead of swapping the machine; a no-op where the system has no
    such limit (Windows, macOS). The verovio and music21 children call it first thing."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    caps = [c for c in (soft, hard, max_bytes) if c != resource.RLIM_INFINITY and c > 0]
    with contextlib.suppress(ValueError, OSError):  # a system that does not enforce such limits (macOS)
        resource.setrlimit(resource.RLIMIT_AS, (min(caps), hard))
