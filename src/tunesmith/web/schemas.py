"""What the JSON API accepts and answers, as pydantic models (and so in the OpenAPI page).

Every field is bounded and strict: ``"1000"`` is not a number and ``true`` is not a temperature, so a
client's mistake is named rather than guessed at; a primer is text, with no control characters
but line breaks and tabs. The studio's limits are tighter than the command line's (16 tunes, 5,000
characters, a 2,000-character primer) because a web request should come back in seconds, not hours.
Each field has a sentence a musician can act on; a 422 carries it under ``fields`` for the page to
show beside the input.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tunesmith.sampling.settings import MAX_TEMPERATURE
from tunesmith.web.catalog import ID_PATTERN

MAX_TUNES = 16
MAX_LENGTH = 5000
MAX_PRIMER = 2000
MAX_TOP_K = 1000
MAX_SEED = 2**31 - 1
TEMPO_RANGE = (40, 300)  # quarter notes per minute a person may ask playback for
MAX_KIND = 40  # characters of a meter, key or rhythm asked from the menus
MAX_EDIT = 8000  # characters of ABC a person may send to be rendered again (the body limit is 16 KiB)
MAX_BODY_BYTES = 16 * 1024
MAX_SHOWN = 200  # characters of a given value that a 422 repeats
MAX_ITEMS_SHOWN = 20  # errors, and items of a given list or object, that a 422 repeats
PRIMER_CONTROLS = frozenset("\n\r\t")  # the only control characters a primer may hold

RULES = {
    "model": "Choose one of the models in the list",
    "num": f"Tunes must be a whole number from 1 to {MAX_TUNES}",
    "temperature": f"Temperature must be above 0 and at most {MAX_TEMPERATURE:g}",
    "top_k": f"Top-k must be a whole number from 0 (off) to {MAX_TOP_K}",
    "top_p": "Top-p must be above 0 and at most 1 (1 is off)",
    "primer": (
        f"The primer must be text of at most {MAX_PRIMER} characters, with no control characters but line breaks"
        " and tabs, and shorter than the length limit"
    ),
    "max_length": f"The length limit must be a whole number of characters from 16 to {MAX_LENGTH}",
    "seed": f"The seed must be a whole number from 0 to {MAX_SEED}, or empty for a random one",
    "constrain": "Constrain must be on or off",
    "meter": "Choose a meter from the list (the meters of the model's tunes)",
    "key": "Choose a key from the list (the keys of the model's tunes)",
    "rhythm": "Choose a rhythm from the list (the kinds of tune the model has seen)",
    "tempo": f"Tempo must be a whole number of beats (quarter notes) per minute from {TEMPO_RANGE[0]} to"
    f" {TEMPO_RANGE[1]}, or empty for the tune's own",
    "instrument": "Choose an instrument from the list",
    "text": f"The tune must be ABC text of at most {MAX_EDIT} characters, with no control characters but line breaks",
    "kept": "Kept must be true or false",
}


def plain_text(text: str, what: str) -> str:
    """``text`` when it holds no control characters but line breaks and tabs (ABC is plain text)."""
    bad = next((ch for ch in text if ch not in PRIMER_CONTROLS and unicodedata.category(ch) in ("Cc", "Cs")), None)
    if bad is not None:
        raise ValueError(f"{what} holds the control character U+{ord(bad):04X}")
    return text


class GenerateRequest(BaseModel):
    """Generate tunes from one model. Only ``model`` is required."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False, strict=True)

    model: str = Field(pattern=ID_PATTERN, description="A model id from /api/models.")
    num: int = Field(2, ge=1, le=MAX_TUNES, description="How many tunes.")
    temperature: float = Field(1.0, gt=0, le=MAX_TEMPERATURE, description="Above 0; lower is safer, higher is wilder.")
    top_k: int = Field(0, ge=0, le=MAX_TOP_K, description="Draw among the K likeliest symbols (0 = all).")
    top_p: float = Field(1.0, gt=0, le=1, description="Draw within this much probability mass (1 = all).")
    primer: str = Field("", max_length=MAX_PRIMER, description="Every tune starts with this, e.g. 'M:6/8\\nK:G\\n'.")
    max_length: int = Field(1000, ge=16, le=MAX_LENGTH, description="Cut tunes at this many characters.")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="The same seed gives the same tunes; empty: random.")
    constrain: bool = Field(False, description="Allow only valid ABC with whole bars (ABC models).")
    meter: str = Field("", max_length=MAX_KIND, description="A meter from /api/models/{id}/kinds ('' = any).")
    key: str = Field("", max_length=MAX_KIND, description="A key or mode from /api/models/{id}/kinds ('' = any).")
    rhythm: str = Field("", max_length=MAX_KIND, description="A rhythm (jig, reel…) from /api/models/{id}/kinds.")
    tempo: int | None = Field(
        None, ge=TEMPO_RANGE[0], le=TEMPO_RANGE[1], description="Playback, quarter notes per minute; empty: the tune's."
    )
    instrument: str = Field("", max_length=MAX_KIND, description="A General MIDI instrument by name ('' = piano).")

    @field_validator("primer")
    @classmethod
    def _primer_is_text(cls, primer: str) -> str:
        return plain_text(primer, "the primer")

    @model_validator(mode="after")
    def _primer_fits(self) -> GenerateRequest:
        if len(self.primer) >= self.max_length:
            raise ValueError("primer: the primer must be shorter than the length limit")
        return self


class RenderRequest(BaseModel):
    """A tune's ABC as a person edited it, to be checked, engraved and sounded again."""

    model_config = ConfigDict(extra="forbid", strict=True)
    text: str = Field(min_length=1, max_length=MAX_EDIT, description="The whole tune, header and music.")
    tempo: int | None = Field(None, ge=TEMPO_RANGE[0], le=TEMPO_RANGE[1])
    instrument: str = Field("", max_length=MAX_KIND)

    @field_validator("text")
    @classmethod
    def _text_is_text(cls, text: str) -> str:
        return plain_text(text, "the tune")


class KindsInfo(BaseModel):
    """What the menus offer for one model: values from its training corpus, commonest first."""

    abc: bool = Field(description="False for MIDI and audio models: no menus, no primer.")
    meters: list[str]
    keys: list[str]
    rhythms: list[str]


class KeepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    kept: bool = True


class RerollRequest(BaseModel):
    """Another tune with the same settings; a new random seed unless one is given."""

    model_config = ConfigDict(extra="forbid", strict=True)
    seed: int | None = Field(None, ge=0, le=MAX_SEED)


class ModelInfo(BaseModel):
    id: str
    name: str
    kind: str
    preset: str
    representation: str
    architecture: str
    usable: bool = Field(True, description="False when the model's files could not be read; see problem.")
    problem: str | None = Field(None, description="Why the model cannot be used, when it cannot.")
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


def plain(value: Any, depth: int = 0) -> Any:
    """Any value a request held, made safe to send back as JSON: non-finite numbers and surrogates become
    text, long strings and containers are cut short, anything else becomes its (short) repr."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else f"{str(value)[:20]}…"
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value).replace("nan", "NaN").replace("inf", "Infinity")
    if isinstance(value, str):
        text = value[:MAX_SHOWN] + ("…" if len(value) > MAX_SHOWN else "")
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    if depth < 3 and isinstance(value, dict):
        return {str(plain(k, depth + 1)): plain(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS_SHOWN]}
    if depth < 3 and isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in list(value)[:MAX_ITEMS_SHOWN]]
    return plain(repr(value)[:MAX_SHOWN], depth + 1) if depth < 4 else "…"


def safe_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's errors with only their type, location, message and input, every one JSON-safe."""
    return [
        {
            "type": str(error.get("type", "")),
            "loc": [p if isinstance(p, int) else plain(str(p)) for p in error.get("loc", ())],
            "msg": plain(str(error.get("msg", ""))),
            **({"input": plain(error["input"])} if "input" in error else {}),
        }
        for error in errors[:MAX_ITEMS_SHOWN]
    ]


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
            messages[name] = f"{name[:40]}: not a setting the studio knows"
        else:
            messages["_"] = "The request is not a JSON object with the settings."
    return messages
