"""Renderers: make music audible and readable.

``midi`` (ABC → MIDI with abc2midi), ``audio`` (MIDI → WAV/FLAC/OGG with FluidSynth or a built-in
synthesizer), ``score`` (→ SVG with verovio, → MusicXML with music21) and ``files`` (whole files and
folders, the ``tunesmith render`` verb). Nothing is imported here, so importing one stays cheap.
"""
