"""tunesmith: train neural networks on music and generate new music with them."""

__version__ = "0.1.0"
