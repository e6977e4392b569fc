"""Constrained sampling: a grammar names the characters that may come next; the rest are masked.

Masking works beside any model: before each draw, forbidden logits become -inf; after it, each
tune's grammar state advances with the character drawn. Nothing is rejected or retried, so the
same seed still gives the same tunes.

Speed comes from memoising the grammar per vocabulary. Every grammar state gets an id; the first
time a tune reaches a state we store, per token, whether it is legal (one grammar step per class of
characters that act alike), and the first time a token is drawn there, the state after it. A step
is then two table look-ups for the whole batch.

Ending in time: :meth:`AbcGrammar.finish` is a way out of every state, ``to_end(state)`` characters
long. Token ``t`` is allowed only if ``1 + to_end(after t) + 1 <= remaining`` (itself, the way out,
and ``<end>``); the way out's own next character always passes, so a tune can always go on, and
it ends before ``--max-length``. No way out is longer than ``MARGIN`` characters (checked as we
go), so while more than ``MARGIN + 2`` characters remain legality alone decides, and the costlier
``to_end`` rows are computed only for tunes near their limit.

**Tokens of several characters** (``abc-tokens``: a note with its length, a bar line with its spaces, a
whole header line) are allowed when every character in them is: the grammar walks their characters,
through a trie so tokens that share a beginning share its steps. Every single character the way out
needs is a token too, so ``to_end`` (in characters) bounds the tokens a way out takes. This stays fast and
true to the tokenizer: inside a header line, quoted text or grace notes only single characters are allowed
(the tokenizer writes those whole, as one token, or else one character at a time: a model never saw a
longer token there), and states that differ only in what the end reads (notes and bars counted towards the
corpus's floor; how many lines each header field has had) share one walk (:meth:`AbcGrammar.walk_key`).
"""

from __future__ import annotations

import hashlib
import inspect
import json

import numpy as np
import torch

from tunesmith.constraints.abc import END, AbcGrammar
from tunesmith.constraints.abc_words import missing_chars
from tunesmith.errors import TextRefused, TunesmithError
from tunesmith.metrics.abc_corpus import CorpusProfile
from tunesmith.representations import TokenRepresentation

INF = 1 << 30
ILLEGAL, LAZY = -1, -2  # in ``next``: a forbidden token; a legal one whose state is not made yet
MARGIN = 64  # no way out of any state is longer (checked; the longest seen is 24: a triplet, a bar, :|2)
MAX_STATES = 2_000_000  # a memo past this size starts again (a few hundred MB at most)
_TABLES: dict[tuple[tuple[str, ...], str], GrammarTables] = {}


class _Rows:
    """A growing table with one row of ``size`` numbers per state that has one (-1: not yet)."""

    def __init__(self, size: int, dtype: type):
        self.data = np.empty((256, size), dtype=dtype)
        self.of = np.full(1024, -1, dtype=np.int64)
        self.count = 0

    def add(self, sid: int, row: np.ndarray) -> None:
        if self.count == len(self.data):
            self.data = np.concatenate([self.data, np.empty_like(self.data)])
        if sid >= self.of.size:
            self.of = np.concatenate([self.of, np.full(max(self.of.size, sid + 1), -1, dtype=np.int64)])
        self.data[self.count] = row
        self.of[sid] = self.count
        self.count += 1

    def has(self, sid: int) -> bool:
        return sid < self.of.size and self.of[sid] >= 0

    def __getitem__(self, sid: int) -> np.ndarray:
        return self.data[self.of[sid]]


def _grammar(chars: list[str], profile: CorpusProfile | None) -> AbcGrammar:
    """The grammar over ``chars``, held to the corpus ``profile`` where the grammar reads one (the corpus-learned
    header and floor are the grammar's part of issue 18, still in progress: until it lands the profile waits)."""
    if profile is not None and "profile" in inspect.signature(AbcGrammar).parameters:
        return AbcGrammar(chars, profile)  # type: ignore[call-arg]
    return AbcGrammar(chars)


LENGTH_CHARS = frozenset("0123456789/,'")  # what may follow a note's letter inside one token: octave and length
GRACE_CHARS = frozenset("ABCDEFGabcdefg^_=,'}")  # what may follow "{" inside one token: grace notes and "}"


class _Trie:
    """The tokens of several characters, by their characters: ``children[c]`` and the token ids ending here.
    ``lengths``: every token below goes on with octave marks and length digits only (the rest of a note)."""

    def __init__(self) -> None:
        self.children: dict[str, _Trie] = {}
        self.ids: list[int] = []
        self.lengths = True
        self.grace = True  # every token below goes on with grace notes and their closing "}" only

    def add(self, text: str, token: int) -> None:
        node = self
        for i, c in enumerate(text):
            node.lengths = node.lengths and set(text[i:]) <= LENGTH_CHARS
            node.grace = node.grace and set(text[i:]) <= GRACE_CHARS and "}" not in text[i:-1]
            node = node.children.setdefault(c, _Trie())
        node.ids.append(token)


def _ids_below(node: _Trie) -> list[int]:
    out, todo = [], [node]
    while todo:
        n = todo.pop()
        out += n.ids
        todo += n.children.values()
    return out


class GrammarTables:
    """The memo for one vocabulary (and corpus profile): state ids; per state reached, its ``next`` row
    (state id per token, ILLEGAL or LAZY); per state reached near a length limit, its ``need`` row
    (``to_end`` of the state after each token, INF if illegal, -1 for ``<end>`` where the tune may end).

    ``tokens`` are what ids 2, 3… write: single characters for ``abc-char``, any strings for ``abc-tokens``."""

    def __init__(self, tokens: list[str], end_id: int = 1, profile: CorpusProfile | None = None):
        chars = [t for t in tokens if len(t) == 1]
        self.grammar = _grammar(sorted(set("".join(tokens))), profile)
        self.size = len(tokens) + 2
        self.end_id = end_id
        self.token_of = {t: i + 2 for i, t in enumerate(tokens) if len(t) == 1}
        self.chars = ["", "", *tokens]
        self.longer = _Trie()  # the tokens of several characters
        for i, t in enumerate(tokens):
            if len(t) > 1:
                self.longer.add(t, i + 2)
        self.single = len(chars) == len(tokens)
        self.longer_ids = np.array([i + 2 for i, t in enumerate(tokens) if len(t) > 1], dtype=np.int64)
        self.below = {c: np.array(_ids_below(node), dtype=np.int64) for c, node in self.longer.children.items()}
        self._layouts: dict[tuple[str, ...], tuple[list[str], np.ndarray, np.ndarray]] = {}
        self._legal: dict[tuple, list[int]] = {}  # ILLEGAL/LAZY per class of characters, by legality_key
        self._notes: dict[tuple, list[int]] = {}  # legal tokens below a trie node, by a key (see _below)
        self._walks: dict[tuple, np.ndarray] = {}  # legal tokens of several characters, by the grammar's walk_key
        self.ids: dict[tuple, int] = {}
        self.states: list[tuple] = []
        self.to_end_of: dict[tuple, int] = {}
        self.next = _Rows(self.size, np.int64)
        self.need = _Rows(self.size, np.int32)

    def id_of(self, state: tuple) -> int:
        sid = self.ids.get(state)
        if sid is None:
            sid = self.ids[state] = len(self.states)
            self.states.append(state)
        return sid

    def to_end(self, state: tuple) -> int:
        """Characters the grammar's way out takes from ``state`` (0 where the tune may end)."""
        memo, path, grammar = self.to_end_of, [], self.grammar
        while state not in memo:
            jump = grammar.finish_jump(state)  # a note: straight to its end, no state per character
            if jump is None:
                c = grammar.finish(state)
                if c == END:
                    memo[state] = 0
                    break
                jump = (1, grammar.step(state, c))
            if jump[1] is None or len(path) > MARGIN:
                raise RuntimeError(f"the ABC grammar's way out is broken or too long at {state}")
            path.append((state, jump[0]))
            state = jump[1]
        length = memo[state]
        for back, cost in reversed(path):
            length += cost
            memo[back] = length
        if length > MARGIN:
            raise RuntimeError(f"the ABC grammar's way out of {path[0][0] if path else state} exceeds {MARGIN}")
        return length

    def _layout(self, groups: tuple[str, ...]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """For a tuple of character classes: the classes this vocabulary has, the class of each
        token (the last index, -1's slot, for none), and which tokens are in some class."""
        if groups not in self._layouts:
            present = [g for g in groups if any(c in self.token_of for c in g)]
            index = np.full(self.size, len(present), dtype=np.int64)
            for i, chars in enumerate(present):
                index[[self.token_of[c] for c in chars if c in self.token_of]] = i
            self._layouts[groups] = (present, index, index < len(present))
        return self._layouts[groups]

    def _add_row(self, sid: int, table: _Rows) -> None:
        """State ``sid``'s row of ``next`` (LAZY for a legal token: its state is made when drawn) or of
        ``need``: one grammar step per class of characters that act alike."""
        nexts = table is self.next
        none, state, step = (ILLEGAL if nexts else INF), self.states[sid], self.grammar.step
        present, index, covered = self._layout(self.grammar.classes(state))
        shared = self.grammar.delegate(state)
        key = self.grammar.legality_key(state) if nexts else None  # many states share their legality
        key = None if key is None else (key, tuple(present))  # the values are per class, in this order
        values = self._legal.get(key) if key is not None else None
        if values is None:
            values = [none if (n := step(state, c[0])) is None else LAZY if nexts else self.to_end(n) for c in present]
            if key is not None:
                self._legal[key] = values
        row = np.array([*values, none], dtype=table.data.dtype)[index]
        if shared is not None and shared[0] is not None:  # the other characters act as after this note
            done = self.id_of(shared[0])
            if not table.has(done):
                self._add_row(done, table)
            row = np.where(covered, row, table[done])
        if not self.single:
            self._walk_longer(state, row, nexts, shared, table)
        row[self.end_id] = (sid if nexts else -1) if self.grammar.accepting(state) else none
        table.add(sid, row)

    def _walk_longer(self, state: tuple, row: np.ndarray, nexts: bool, shared: tuple | None, table: _Rows) -> None:
        """Fill ``row`` for the tokens of several characters: each is legal when its characters are, one after
        another. Where ``state`` delegates (a note being written), tokens that begin with a character it does
        not own act as in the state after the note, whose row is made already."""
        row[self.longer_ids] = ILLEGAL if nexts else INF
        if self.grammar.spelled(state):
            return  # abc-tokens wrote these characters one by one (a title, a chord name): it never saw more here
        own = None
        if shared is not None and shared[0] is not None:
            done, own = table[self.id_of(shared[0])], shared[1]
        walked = []
        for c, child in self.longer.children.items():
            if own is not None and c not in own:
                below = self.below[c]
                row[below] = done[below]
            else:
                walked.append((c, child))
        if not nexts:
            self._walk(state, walked, row, nexts)
            return
        key = self.grammar.walk_key(state)  # many states differ only in what the end reads: one walk for them
        legal = self._walks.get(key)
        if legal is None:
            marks = np.full(self.size, ILLEGAL, dtype=np.int64)
            self._walk(state, walked, marks, nexts)
            legal = self._walks[key] = np.flatnonzero(marks == LAZY)
        row[legal] = LAZY

    def _walk(self, state: tuple, walked: list[tuple[str, _Trie]], row: np.ndarray, nexts: bool) -> None:
        """Mark in ``row`` the tokens below ``walked`` (first characters and their trie nodes) that are legal from
        ``state``: LAZY in a ``next`` row, their way out's length in a ``need`` row."""
        step = self.grammar.step
        stack = [(state, child, c) for c, child in walked]
        while stack:
            at, child, c = stack.pop()
            after = step(at, c)
            if after is None:
                continue
            if nexts and child.children and (after[0] == "N" and child.lengths or after[0] == "G" and child.grace):
                row[self._below(after, child, self.grammar.legality_key(after))] = LAZY
                if child.ids:
                    row[child.ids] = LAZY
                continue
            if nexts and child.children and after[0] in "TVY":  # a header line's value: shared by many headers
                row[self._below(after, child, self.grammar.walk_key(after))] = LAZY
                if child.ids:
                    row[child.ids] = LAZY
                continue
            if child.ids:
                row[child.ids] = LAZY if nexts else self.to_end(after)
            stack += [(after, grandchild, d) for d, grandchild in child.children.items()]

    def _below(self, state: tuple, node: _Trie, key: tuple) -> list[int]:
        """The tokens below ``node`` that are legal from ``state``, worked out once per ``key``: a key many states
        share, on which alone their legality depends. For a note being written (or grace notes) whose tokens go
        on with its octave and length only (or grace notes and "}"), the state's legality_key (octave class,
        length so far, room in the bar; notes in the group); for a header line's value, its walk_key."""
        key = (id(node), key)
        ids = self._notes.get(key)
        if ids is None:
            ids, stack, step = [], [(state, child, c) for c, child in node.children.items()], self.grammar.step
            while stack:
                at, child, c = stack.pop()
                after = step(at, c)
                if after is not None:
                    ids += child.ids
                    stack += [(after, grandchild, d) for d, grandchild in child.children.items()]
            self._notes[key] = ids
        return ids

    def rows(self, ids: np.ndarray, table: _Rows) -> np.ndarray:
        """Row numbers in ``table`` for state ``ids``, computing the rows not there yet."""
        rows = table.of[ids] if ids.max(initial=0) < table.of.size else np.full(ids.shape, -1)
        if (rows < 0).any():
            for sid in np.unique(ids[rows < 0]).tolist():
                if not table.has(sid):  # a row added just before may have added this one
                    self._add_row(sid, table)
            rows = table.of[ids]
        return rows

    def resolve(self, sid: int, row: int, token: int) -> int:
        """The state after ``token`` where ``next`` says LAZY; remembered in the table."""
        if self.next.data[row, token] == ILLEGAL:
            raise RuntimeError("a masked token was drawn")  # a bug: the sampler ignored the mask
        state = self.states[sid]
        for c in self.chars[token]:
            state = self.grammar.step(state, c)
        after = self.id_of(state)
        self.next.data[row, token] = after
        return after

    def walk(self, text: str, what: str = "--primer") -> int:
        """The state after ``text``; a TunesmithError names the first character the grammar refuses."""
        state = self.grammar.start
        for pos, c in enumerate(text):
            after = self.grammar.step(state, c)
            if after is None:
                allowed = "".join(ch for ch in self.token_of if self.grammar.step(state, ch) is not None)
                hint = " (the X: line is added when tunes are written)" if text.startswith("X") else ""
                raise TextRefused(
                    f"{what} is not valid ABC at character {pos + 1} ({c!r} after {text[max(0, pos - 12) : pos]!r})"
                    f"{hint}; allowed there: {allowed[:40]!r}" + (" or <end>" if self.grammar.accepting(state) else ""),
                    pos=pos,
                    char=c,
                    allowed=allowed,
                )
            state = after
        return self.id_of(state)


def tables_for(tokens: list[str], profile: CorpusProfile | None = None) -> GrammarTables:
    """The memo for a vocabulary and profile, shared by every ``generate`` call that uses them."""
    digest = (
        "" if profile is None else hashlib.sha256(json.dumps(profile.to_json(), sort_keys=True).encode()).hexdigest()
    )
    key = (tuple(tokens), digest)
    tables = _TABLES.get(key)
    if tables is None or len(tables.states) + len(tables.to_end_of) > MAX_STATES:
        tables = _TABLES[key] = GrammarTables(tokens, profile=profile)
    return tables


class AbcConstraint:
    """Valid ABC by construction for ABC token models (``abc-char``, ``abc-tokens``): one per ``generate`` call.
    With the model's corpus ``profile``, the header and the floor of bars and notes are the corpus's."""

    def __init__(self, rep: TokenRepresentation, primer: str, budget: int, profile: CorpusProfile | None = None):
        if rep.medium != "abc" or not hasattr(rep, "tokens"):  # the grammar walks the tokens' characters
            raise TunesmithError(f"--constrain needs an ABC model; this one reads {rep.name}")
        if missing := missing_chars(set(rep.chars)):
            raise TunesmithError(f"--constrain needs the characters {missing!r}, which this model never learned")
        self.tables = tables_for(list(rep.tokens), profile)
        self.start = self.tables.walk(primer)
        needed = self.tables.to_end(self.tables.states[self.start])
        if needed + 1 > budget:
            room = f"--max-length leaves {budget} characters after the primer" if primer else f"--max-length {budget}"
            raise TunesmithError(f"{room} is too short: a valid tune needs at least {needed + 1}")

    def batch(self, rows: int) -> ConstrainedBatch:
        return ConstrainedBatch(self.tables, np.full(rows, self.start, dtype=np.int64))


class ConstrainedBatch:
    """The grammar state of each tune in a batch."""

    def __init__(self, tables: GrammarTables, ids: np.ndarray):
        self.tables, self.ids = tables, ids
        self._rows = tables.rows(ids, tables.next)
        self.narrowed = np.zeros(ids.size, dtype=bool)  # the way to a timely end took a legal token away

    def allowed(self, remaining: int) -> torch.Tensor:
        """``(rows, vocab)`` booleans: tokens after which a tune still ends within ``remaining`` tokens
        (``<end>`` included). Never empty: the way out's next character is always among them."""
        tables = self.tables
        self._rows = tables.rows(self.ids, tables.next)
        if remaining - 2 >= MARGIN:
            return torch.from_numpy(tables.next.data[self._rows] != ILLEGAL)
        need_rows = tables.rows(self.ids, tables.need)  # before reading .data: adding rows may grow it
        in_time = tables.need.data[need_rows] <= remaining - 2
        self.narrowed |= ((tables.next.data[self._rows] != ILLEGAL) & ~in_time).any(axis=1)
        return torch.from_numpy(in_time)

    def advance(self, tokens: torch.Tensor) -> None:
        drawn = tokens.cpu().numpy()
        after = self.tables.next.data[self._rows, drawn]
        for i in np.flatnonzero(after < 0).tolist():
            after[i] = self.tables.resolve(int(self.ids[i]), int(self._rows[i]), int(drawn[i]))
        self.ids = after

    def keep(self, rows: torch.Tensor) -> None:
        kept = rows.cpu().numpy()
        self.ids, self.narrowed = self.ids[kept], self.narrowed[kept]

    def forced(self, row: int) -> bool:
        """True once the grammar's finish has narrowed this row's choices: its ending is the grammar's, not the
        model's (``<end>`` may have been the only token left, or the tune was steered to close its bar)."""
        return bool(self.narrowed[row])
