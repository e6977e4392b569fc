"""Measures of generated music: validity today; musical statistics and novelty later."""

from tunesmith.metrics.validity import Validity, check, check_many, summarize

__all__ = ["Validity", "check", "check_many", "summarize"]
