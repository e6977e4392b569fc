"""Run every command in README.md as written, in a fresh copy of the repository, with small budgets.

Why: the README promises that a newcomer who types its commands top to bottom on a clean clone gets
what it shows. This script is that newcomer. ``make readme-check`` runs it; ``tests/test_readme.py``
imports :func:`extract_commands` so that the test and the check agree on what a command is.

What counts as a command: inside a fenced block tagged ``sh``, ``bash``, ``shell`` or ``console``, every
line that is not blank and not a comment (in ``console`` blocks, only lines starting with ``$``). A line
ending in a backslash goes on on the next line. An untagged fence is shown output and is never run;
neither is inline code in the prose.

Where they run: a scratch folder holding the files a clone would hold (``git ls-files``: tracked files
and new files git does not ignore, so an uncommitted README is checked as it stands; nothing ignored,
such as data/, runs/ or demo-output/, comes along). Its ``.venv`` is a link to this checkout's, and
``PYTHONPATH`` points at the copy's ``src/``, so the copy's code runs without a network install;
``--install`` runs ``make install`` in the copy instead (minutes, and it needs the package index).

Small budgets: each command runs as written with the options of :data:`BUDGETS` appended (the last value
of an option wins, so they override the README's); the make targets of :data:`STAND_INS` that take
minutes or hours are dry-run with ``make -n`` and replaced by their underlying command on a small budget.
``tunesmith serve`` is started, polled until ``/api/health`` answers, and stopped. :data:`INPUTS` fills
the folders that stand for the reader's own files (``mytunes/``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHELL_FENCES = {"sh", "bash", "shell", "console"}

# Appended to every command that starts with the key: the smallest budget that still runs each step.
BUDGETS: dict[str, str] = {
    "tunesmith train": "--set train.max_steps=3 --set train.limit_val_batches=2 --set train.sample_every=0",
    "tunesmith sweep": "--set train.max_steps=2 --set train.limit_val_batches=2",
    "tunesmith sample": "--num 2",
    "tunesmith evaluate": "--num 4 --max-batches 2",
    "tunesmith plot": "--max-length 200",
}

# Make targets that take minutes or hours: a dry run (the target exists and says what it would do),
# then what it runs, on a small budget, so that later commands find its outputs.
STAND_INS: dict[str, list[str]] = {
    "make demo": ["make -n demo", "tunesmith demo --steps 4"],
    "make test": ["make -n test"],
}

# Folders the README asks the reader to bring, and what stands in for them here: a tunebook of 100 Irish
# tunes from music21's corpus ("music21:" paths), about the size of a musician's own collection.
INPUTS: dict[str, str] = {"mytunes": "music21:oneills1850/1376-1475.abc"}

HEALTH_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Command:
    """One command as the README writes it, and the line of README.md where it starts."""

    text: str
    line: int


def extract_commands(markdown: str) -> list[Command]:
    """Every command in the shell-tagged fenced blocks of ``markdown``, in order."""
    commands: list[Command] = []
    fence: str | None = None
    pending, start = "", 0
    for number, raw in enumerate(markdown.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else (stripped[3:].strip().lower() or "output")
            continue
        if fence not in SHELL_FENCES:
            continue
        line = stripped
        if not pending:
            if fence == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:].strip()
            if not line or line.startswith("#"):
                continue
            start = number
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        commands.append(Command(without_comment(pending + line), start))
        pending = ""
    return commands


def without_comment(line: str) -> str:
    """``line`` less a trailing ``# comment`` (a ``#`` outside quotes after a space), as the shell reads it."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def plan(command: str) -> list[str]:
    """The command lines that check ``command``: itself with its budget, or its stand-ins."""
    if command in STAND_INS:
        return STAND_INS[command]
    for prefix, extra in BUDGETS.items():
        if command == prefix or command.startswith(prefix + " "):
            return [f"{command} {extra}"]
    return [command]


def copy_checkout(dest: Path) -> None:
    """The files a clone of this checkout would hold, with its uncommitted edits, into ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def input_file(source: str) -> Path:
    """A stand-in's file: ``music21:PATH`` inside music21's corpus, else a path in this checkout."""
    if source.startswith("music21:"):
        import music21  # installed with tunesmith: the built-in corpora live in it

        return Path(music21.__file__).parent / "corpus" / source.removeprefix("music21:")
    return ROOT / source


def free_port() -> int:
    """A port nothing listens on now, so the check's studio never meets one already running."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(line: str, cwd: Path, env: dict[str, str], log: Path) -> tuple[bool, str]:
    """Start the studio, wait until ``/api/health`` answers, stop it: the command works if it answered."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {line} --port {port}"],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        answered = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as reply:
                    answered = reply.status == 200
                    break
            except OSError:
                time.sleep(0.2)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return answered, f"--port {port}, /api/health " + ("answered" if answered else "never answered")


def run_one(line: str, cwd: Path, env: dict[str, str], log: Path, timeout: float) -> bool:
    """Run one command line in bash; its output goes to ``log``."""
    with log.open("w") as out:
        try:
            done = subprocess.run(
                ["bash", "-c", line], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            out.write(f"\n(stopped after {timeout:.0f} s)\n")
            return False
    return done.returncode == 0


def environment(work: Path) -> dict[str, str]:
    """The reader's shell after ``source .venv/bin/activate``, with the copy's own code first."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(work / ".venv")
    env["PATH"] = f"{work / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(work / "src")
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log, indented, to show under a failed command."""
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join("        " + line for line in text)


def main(argv: list[str] | None = None) -> int:
    """Copy the checkout, run every README command in order, print one line each; 1 if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--list", action="store_true", help="print the commands and what runs for each; run none")
    parser.add_argument("--install", action="store_true", help="run 'make install' in the copy, not a link to .venv")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy and its logs")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one command may take")
    args = parser.parse_args(argv)

    commands = extract_commands(args.readme.read_text())
    if args.list:
        for command in commands:
            print(f"README.md:{command.line}: {command.text}")
            for line in plan(command.text):
                print(f"    runs: {line}")
        return 0

    work = Path(tempfile.mkdtemp(prefix="readme-check-"))
    logs = work / ".readme-check"
    logs.mkdir()
    started = time.monotonic()
    failed = 0
    try:
        copy_checkout(work)
        shutil.copy2(args.readme, work / "README.md")
        if args.install:
            subprocess.run(["make", "install"], cwd=work, check=True)
        else:
            (work / ".venv").symlink_to(ROOT / ".venv")
        for folder, source in INPUTS.items():
            (work / folder).mkdir(exist_ok=True)
            shutil.copy2(input_file(source), work / folder)
        env = environment(work)
        print(f"{len(commands)} commands from {args.readme.name}, in {work}")
        step = 0
        for command in commands:
            for line in plan(command.text):
                step += 1
                log = logs / f"{step:02d}.log"
                begun = time.monotonic()
                if line.startswith("tunesmith serve"):
                    ok, note = serve(line, work, env, log)
                else:
                    ok, note = run_one(line, work, env, log, args.timeout), ""
                shown = line if line == command.text else f"{command.text}  [runs: {line}]"
                seconds = time.monotonic() - begun
                print(f"{'ok' if ok else 'FAILED':6}  {seconds:6.1f} s  README.md:{command.line}  {shown}")
                if note:
                    print(f"        {note}")
                if not ok:
                    failed += 1
                    print(tail(log))
                sys.stdout.flush()
        print(f"{step - failed} ok, {failed} failed, in {time.monotonic() - started:.0f} s")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
