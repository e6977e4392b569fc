"""Prepared datasets (memmaps + meta.json) and the loaders that cut training windows from them."""

from tunesmith.data.prepared import PreparedData

__all__ = ["PreparedData"]
