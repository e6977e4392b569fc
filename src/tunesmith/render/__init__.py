"""Renderers: make music audible and readable (MIDI today; WAV and scores join later)."""
