"""The fuzz suite's profiles, guards, sandboxes and shared fixtures.

Profiles
    ``ci`` (the default) runs a fixed number of examples per test with derandomised seeds, no example
    database and no deadline, so ``make test`` takes the same time and finds the same things on every
    run. ``long`` (``TUNESMITH_FUZZ_PROFILE=long``, what ``benchmarks/fuzz.py`` sets) multiplies every
    test's count by ``TUNESMITH_FUZZ_SCALE`` (default 20) and draws fresh random examples each time.
    The profiles are applied to the fuzz tests' own ``@settings`` (:func:`fuzz_settings`), not loaded
    globally, so the package's other Hypothesis tests keep their own settings.

Bounded time
    Every example runs inside :func:`bounded`: a ``SIGALRM`` timer (``TUNESMITH_FUZZ_HANG_S``, 60 s:
    a hang guard, not a speed assertion) raises :class:`Hang` in the main thread, which interrupts a
    blocked read (a FIFO, a socket) as well as a loop in Python. A loop in C that never returns to
    the interpreter cannot be interrupted that way, so ``faulthandler`` dumps every thread's stack and
    ends the session a minute later: CI fails loudly instead of hanging until its own timeout.

Bounded memory
    Also inside :func:`bounded`, the address space is capped (``RLIMIT_AS``) at the process's size
    when the example starts plus ``TUNESMITH_FUZZ_MEMORY_MB`` (3 GiB), and restored afterwards. An
    allocation past the cap fails at once (``MemoryError``, or torch's allocator error) instead of
    swapping the machine to a halt, and the property sees it: a reader must raise TunesmithError, and
    the CLI's "out of memory" line is counted as a failure, since a hostile value has to be refused
    before anything is allocated for it. The cap is set in-process rather than in a subprocess per
    example because each fresh interpreter would spend a second or two importing torch, which the
    CI budget cannot pay hundreds of times; peak RSS (``ru_maxrss``) is not checked separately since
    RSS can never exceed the capped address space.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import resource
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

PROFILE = os.environ.get("TUNESMITH_FUZZ_PROFILE", "ci")
SCALE = int(os.environ.get("TUNESMITH_FUZZ_SCALE", "20")) if PROFILE == "long" else 1
HANG_SECONDS = float(os.environ.get("TUNESMITH_FUZZ_HANG_S", "60"))
MEMORY_BYTES = int(os.environ.get("TUNESMITH_FUZZ_MEMORY_MB", "3072")) << 20

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
_QUIET += [HealthCheck.filter_too_much, HealthCheck.differing_executors]
# No "explain" phase: it traces every line the failing example runs, which makes a pure-Python parser (PyYAML on
# a deeply nested document) a hundred times slower and turns a refusal in seconds into a false hang.
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=_QUIET,
    print_blob=True,
    phases=_PHASES,
)
settings.register_profile(
    "long",
    derandomize=False,
    max_examples=20 * SCALE,
    deadline=None,
    database=None,
    suppress_health_check=_QUIET,
    print_blob=True,
    phases=_PHASES,
)
if PROFILE not in ("ci", "long"):
    raise pytest.UsageError(f"TUNESMITH_FUZZ_PROFILE={PROFILE!r}: choose ci or long")


def fuzz_settings(examples: int) -> settings:
    """The active profile with ``examples`` examples in ``ci`` (times the scale in ``long``)."""
    return settings(settings.get_profile(PROFILE), max_examples=examples * SCALE)


# --- guards ------------------------------------------------------------------------------------------


class Hang(BaseException):
    """Raised by the hang guard; a BaseException so that no ``except Exception`` in the code swallows it."""


class ReachedWork(BaseException):  # noqa: N818 - a signal, not an error
    """Raised where a verb would start real work (training, serving): every value was accepted by then."""


def _address_space() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def bounded(what: str, seconds: float = HANG_SECONDS, memory: int = MEMORY_BYTES) -> Iterator[None]:
    """Run the block with a hang guard of ``seconds`` and an address-space cap of ``memory`` more bytes."""

    def on_alarm(signum: int, frame: object) -> None:
        raise Hang(f"{what}: still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(seconds + 60, exit=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + memory
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.setitimer(signal.ITIMER_REAL, 0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def sandbox(root: Path) -> Iterator[Path]:
    """A fresh folder below ``root`` for one example, also the working directory (relative paths land
    here); removed afterwards, so examples never see each other's files."""
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=root))
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(cwd)
        shutil.rmtree(folder, ignore_errors=True)


def hostile_paths(box: Path) -> dict[str, Path]:
    """Paths that are wrong in every way a person's path can be, made inside ``box`` (never a real system
    location that could be written to: /proc and /dev paths are ones that refuse writes or do not exist)."""
    made = {
        "file": box / "a_file.txt",
        "folder": box / "a_folder",
        "empty_folder": box / "an_empty_folder",
        "fifo": box / "a_fifo.mid",
        "fifo_abc": box / "a_fifo.abc",
        "loop": box / "loop",
        "dangling": box / "dangling",
        "junk_mid": box / "junk.mid",
        "junk_abc": box / "junk.abc",
        "junk_wav": box / "junk.wav",
        "junk_yaml": box / "junk.yaml",
        "link_to_zero": box / "zero.mid",
    }
    if made["file"].exists():  # made already for this example
        return made
    made["file"].write_text("not what you expected\n")
    made["folder"].mkdir()
    (made["folder"] / "stray.txt").write_text("x")
    made["empty_folder"].mkdir()
    os.mkfifo(made["fifo"])
    os.mkfifo(made["fifo_abc"])
    made["loop"].symlink_to(made["loop"])
    made["dangling"].symlink_to(box / "nothing-here")
    made["junk_mid"].write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\xff\xff\x01\xe0MTrk\xff\xff\xff\xff\x00\x90")
    made["junk_abc"].write_bytes(b"X:1\nK:\xff\xfe\x00\n|]")
    made["junk_wav"].write_bytes(b"RIFF\xff\xff\xff\x7fWAVEfmt \x10\x00\x00\x00\x01\x00\x00\x00")
    made["junk_yaml"].write_text("a: &a [*a, *a]\nmodel: {hidden: 1000000000}\n")
    made["link_to_zero"].symlink_to("/dev/zero")
    return made


def path_values(box: Path) -> list[str]:
    """Hostile values for a path option, as typed on a command line."""
    made = hostile_paths(box)
    return [
        *(str(p) for p in made.values()),
        "",
        "\x00",
        "a\x00b",
        str(box / "missing" / "deeper" / "x"),
        "missing-relative",
        "/proc/self/status",
        "/proc/self/mem",
        "/proc/self/status/below-a-file",
        "/proc/no-such-entry/x",
        "/dev/null",
        "/dev/zero",
        "/dev/full/x",
        "n" * 300,  # one name longer than NAME_MAX
        "d/" * 3000 + "x",  # a path longer than PATH_MAX
        "new\nline",
        "\udcff\udcfe-not-utf8",
        "🎻/ünïcode",
        "-",
        " ",
    ]


# --- shared strategies -------------------------------------------------------------------------------

WEIRD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\n",
    "\r\n",
    "\t",
    "-",
    "--",
    "=",
    "\\",
    "'",
    '"',
    "%s%n",
    "{0}",
    "${HOME}",
    "\u202e",
    "\ufeff",
    "\udcff",
    "🎻",
    "ﬀ",
    "٣",
    "x" * 100_000,
    "é" * 5000,
]

text_values = st.one_of(st.sampled_from(WEIRD_TEXT), st.text(max_size=40))

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    text_values.filter(lambda s: len(s) < 2000),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="session")
def fuzz_run(trained_run: Path, fuzz_root: Path) -> Path:
    """A copy of the tests' debug run that the fuzz suite may scribble on (plot writes into its run)."""
    copy = fuzz_root / "run"
    shutil.copytree(trained_run, copy)
    return copy


@pytest.fixture(scope="session")
def fuzz_bundle(trained_run: Path, fuzz_root: Path) -> Path:
    """A bundle exported from the debug run: the valid start of every mutated bundle."""
    from tunesmith.bundle import export

    return export(trained_run, fuzz_root / "bundle")


GOOD_TUNES = [
    "X:1\nT:One\nM:6/8\nL:1/8\nK:G\nGAB c2d|edc B2A|GAB c2d|e3 d3|]\n",
    "X:2\nT:Two\nM:4/4\nL:1/8\nK:D\nd2fd Adfd|e2ge Bege|d2fd Adfd|e4 d4|]\n",
    "X:3\nT:Three\nM:3/4\nL:1/8\nK:Ador\nA2 B2 c2|d4 e2|c2 B2 A2|E6|]\n",
    "X:4\nT:Four\nM:2/4\nL:1/16\nK:F\nFGAc f2c2|d2B2 A2G2|FGAc f2a2|g4 f4|]\n",
    "X:5\nT:Five\nM:6/8\nL:1/8\nK:Em\nE2B B2A|B2c d2B|A2F D2F|E3 E3|]\n",
    "X:6\nT:Six\nM:9/8\nL:1/8\nK:C\nc2e g2e c2e|d2f a2f d2f|c2e g2e c2e|d3 c3 c3|]\n",
]


@pytest.fixture(scope="session")
def good_abc(fuzz_root: Path) -> Path:
    """A folder of six valid, distinct tunes in two tunebooks: enough to prepare and split."""
    folder = fuzz_root / "good-abc"
    folder.mkdir()
    (folder / "a_book1.abc").write_text("\n".join(GOOD_TUNES[:3]))
    (folder / "a_book2.abc").write_text("\n".join(GOOD_TUNES[3:]))
    return folder
