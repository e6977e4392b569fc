"""Checks at the door: a generate request is held to its model before it joins the queue.

pydantic has already bounded every field; here each is checked against the model itself (a primer in its
vocabulary and, with Constrain, its grammar; a meter, key or rhythm from its corpus; an instrument by
name), so a mistake comes back at once, worded for a musician and placed beside its field, instead of as
a job that stops with parser text.
"""

from __future__ import annotations

import re
from typing import Any

from tunesmith.errors import TextRefused, TunesmithError
from tunesmith.web import schemas

KIND_FIELDS = ("rhythm", "meter", "key")
BOTH = "The menus and the primer both say how every tune begins: clear the primer or set the menus to any"
CANNOT_BEGIN = "With Constrain, this model cannot begin a tune with that header: try another meter or key"
AUDIO_MODEL = "This model continues recordings, and the studio composes notes: use tunesmith sample --prime-audio"


class FieldProblem(TunesmithError):
    """One field of a request is wrong: ``field`` names it for the page."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def kind_asked(request: dict[str, Any]) -> bool:
    return any(request.get(name) for name in KIND_FIELDS)


def header_primer(loaded: Any, request: dict[str, Any], settings: Any) -> str:
    """The primer every tune starts with: the person's, or the header the menus ask for (held to the corpus)."""
    from tunesmith import media
    from tunesmith.media import SampleRequest

    if not kind_asked(request):
        return request["primer"]
    ask = SampleRequest(**{name: request.get(name, "") for name in KIND_FIELDS})
    try:
        return media.of(loaded.representation).kind_primer(loaded, settings, ask)
    except TextRefused:  # Constrain walked the header through the grammar: this model cannot write it
        raise FieldProblem("rhythm", CANNOT_BEGIN) from None
    except TunesmithError as exc:
        raise _kind_problem(str(exc)) from None


def playback(request: dict[str, Any]) -> Any:
    """Audio options for the tempo and instrument asked (None: the tune's own tempo, piano)."""
    from tunesmith.render.audio import AudioOptions, program_number

    if request.get("tempo") is None and not request.get("instrument"):
        return None
    try:
        program = program_number(request["instrument"]) if request.get("instrument") else None
    except TunesmithError:
        known = f"{request['instrument'][:40]!r} is not an instrument the studio knows"
        raise FieldProblem("instrument", known) from None
    tempo = request.get("tempo")
    return AudioOptions(program=program, tempo=float(tempo) if tempo is not None else None)


def check_request(loaded: Any, request: dict[str, Any], settings: Any) -> None:
    """Raise :class:`FieldProblem` for the first field the model cannot take; return quietly otherwise."""
    from tunesmith import media
    from tunesmith.media.abc_kind import tune_book
    from tunesmith.media.abc_samples import grammar_guard

    medium = media.of(loaded.representation)
    playback(request)
    if medium.name == "audio":
        raise FieldProblem("model", AUDIO_MODEL)
    if medium.name != "abc":
        for name in ("primer", *KIND_FIELDS):
            if request.get(name):
                raise FieldProblem(name, f"This is a {medium.name.upper()} model: it takes no ABC {name}")
        if request.get("constrain"):
            raise FieldProblem("constrain", "Constrain is for ABC models: untick it for this one")
    if kind_asked(request) and request["primer"]:
        raise FieldProblem("primer", BOTH)
    primer = header_primer(loaded, request, settings)
    rep = loaded.representation
    try:
        settings.check_for(rep)
        if primer and medium.name == "abc":
            rep.ids(primer, "the primer")
        if settings.constrain and medium.constrains:
            grammar = tune_book(loaded.corpus) if kind_asked(request) else loaded.corpus
            grammar_guard(rep, _with(settings, primer), grammar)
    except TextRefused as refused:
        if kind_asked(request):
            raise FieldProblem("rhythm", CANNOT_BEGIN) from None
        raise FieldProblem("primer", primer_words(primer, refused)) from None
    except TunesmithError as exc:
        words, field = for_people(str(exc))
        raise FieldProblem(field or "_", words[:1].upper() + words[1:]) from None


def for_people(message: str) -> tuple[str, str | None]:
    """A sampling error worded for the page: ``--top-k 200 …`` → (``top-k 200 …``, ``top_k``)."""
    match = re.match(r"^--([a-z][a-z-]*)", message)
    if not match:
        return message, None
    name = match.group(1).replace("-", "_")
    return message[2:], name if name in schemas.RULES else None


def _with(settings: Any, primer: str) -> Any:
    from dataclasses import replace

    return replace(settings, primer=primer)


def primer_words(primer: str, refused: TextRefused) -> str:
    """Where a primer goes wrong, as a line and column a person can find, and what ABC allows there."""
    before = primer[: refused.pos]
    line, column = before.count("\n") + 1, refused.pos - (before.rfind("\n") + 1) + 1
    where = f"Line {line}, character {column}"
    shown = "a line break" if refused.char == "\n" else repr(refused.char)
    if refused.unknown:
        return f"{where}: {shown} is a character this model never saw in its tunes"
    if refused.pos == 0 and refused.char == "X":
        return f"{where}: leave out the X: line (tunesmith numbers each tune itself) and begin with M:, L: or K:"
    allowed = " ".join("a line break" if c == "\n" else c for c in refused.allowed[:24]) or "nothing"
    return f"{where}: {shown} cannot come there in ABC the model can go on from; it allows {allowed}"


def _kind_problem(message: str) -> FieldProblem:
    """A menu value the corpus does not have (``--meter '7/8' is not a meter of this model's corpus…``)."""
    option, _, rest = message.partition(" ")
    field = option.removeprefix("--")
    if field not in KIND_FIELDS:
        field = "rhythm"
    return FieldProblem(field, rest[:1].upper() + rest[1:] if rest else message)
