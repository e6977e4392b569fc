"""What the JSON API accepts and answers, as pydantic models (and so in the OpenAPI page).

Every field is bounded. The studio's limits are tighter than the command line's (16 tunes, 5,000
characters, a 2,000-character primer) because a web request should come back in seconds, not hours.
Each field has a sentence a musician can act on; a 422 carries it under ``fields`` for the page to
show beside the input.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tunesmith.sampling.settings import MAX_TEMPERATURE
from tunesmith.web.catalog import ID_PATTERN

MAX_TUNES = 16
MAX_LENGTH = 5000
MAX_PRIMER = 2000
MAX_TOP_K = 1000
MAX_SEED = 2**31 - 1
MAX_BODY_BYTES = 16 * 1024

RULES = {
    "model": "Choose one of the models in the list",
    "num": f"Tunes must be a whole number from 1 to {MAX_TUNES}",
    "temperature": f"Temperature must be above 0 and at most {MAX_TEMPERATURE:g}",
    "top_k": f"Top-k must be a whole number from 0 (off) to {MAX_TOP_K}",
    "top_p": "Top-p must be above 0 and at most 1 (1 is off)",
    "primer": f"The primer must be at most {MAX_PRIMER} characters and shorter than the length limit",
    "max_length": f"The length limit must be a whole number of characters from 16 to {MAX_LENGTH}",
    "seed": f"The seed must be a whole number from 0 to {MAX_SEED}, or empty for a random one",
    "constrain": "Constrain must be on or off",
    "kept": "Kept must be true or false",
}


class GenerateRequest(BaseModel):
    """Generate tunes from one model. Only ``model`` is required."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False)

    model: str = Field(pattern=ID_PATTERN, description="A model id from /api/models.")
    num: int = Field(2, ge=1, le=MAX_TUNES, description="How many tunes.")
    temperature: float = Field(1.0, gt=0, le=MAX_TEMPERATURE, description="Above 0; lower is safer, higher is wilder.")
    top_k: int = Field(0, ge=0, le=MAX_TOP_K, description="Draw among the K likeliest symbols (0 = all).")
    top_p: float = Field(1.0, gt=0, le=1, description="Draw within this much probability mass (1 = all).")
    primer: str = Field("", max_length=MAX_PRIMER, description="Every tune starts with this, e.g. 'M:6/8\\nK:G\\n'.")
    max_length: int = Field(1000, ge=16, le=MAX_LENGTH, description="Cut tunes at this many characters.")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="The same seed gives the same tunes; empty: random.")
    constrain: bool = Field(False, description="Allow only valid ABC with whole bars (abc-char models).")

    @model_validator(mode="after")
    def _primer_fits(self) -> GenerateRequest:
        if len(self.primer) >= self.max_length:
            raise ValueError("primer: the primer must be shorter than the length limit")
        return self


class KeepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kept: bool = True


class RerollRequest(BaseModel):
    """Another tune with the same settings; a new random seed unless one is given."""

    model_config = ConfigDict(extra="forbid")
    seed: int | None = Field(None, ge=0, le=MAX_SEED)


class ModelInfo(BaseModel):
    id: str
    name: str
    kind: str
    preset: str
    representation: str
    architecture: str
    path: str
    model_config = ConfigDict(extra="allow", protected_namespaces=())


class ResultFile(BaseModel):
    kind: str = Field(description="abc, midi, audio, score or image")
    name: str
    media_type: str
    bytes: int
    url: str


class Result(BaseModel):
    """One generated tune: what to show and the files to play, see and download."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())
    id: str
    created: float
    kept: bool
    job: str
    model: dict[str, Any]
    settings: dict[str, Any]
    number: int
    title: str
    valid: bool | None
    facts: list[dict[str, str]]
    checks: list[dict[str, Any]]
    problems: list[str]
    text: str | None
    files: list[ResultFile]


class JobStatus(BaseModel):
    id: str
    state: str = Field(description="queued, running, done or failed")
    stage: str
    total: int
    done: int
    seed: int
    position: int | None = Field(None, description="Jobs ahead of this one while queued.")
    error: str | None = None
    field: str | None = Field(None, description="The request field the error is about.")
    version: int
    results: list[Result]
    url: str


def field_messages(errors: list[dict[str, Any]]) -> dict[str, str]:
    """The first problem with each field, as a sentence for the page: the rule, and what was given."""
    messages: dict[str, str] = {}
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p != "body"]
        name = loc[0] if loc else ""
        if error.get("type") == "value_error" and "primer:" in str(error.get("msg", "")):
            name = "primer"
        if name in messages:
            continue
        if name in RULES:
            given = error.get("input")
            shown = "" if error.get("type") == "missing" or isinstance(given, dict) else f"; you gave {given!r:.40}"
            messages[name] = RULES[name] + shown
        elif name:
            messages[name] = f"{name}: not a setting the studio knows"
        else:
            messages["_"] = "The request is not a JSON object with the settings."
    return messages
