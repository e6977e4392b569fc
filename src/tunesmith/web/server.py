"""Starting the studio: ``tunesmith serve`` in the foreground, or a server in a thread for tests and benchmarks."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.pretrained import builtin_models

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    """Fail with one clear line before uvicorn does, with a log and a traceback, on a taken port."""
    if not 1 <= port <= 65535:
        raise TunesmithError(f"--port {port} is out of range: choose 1 to 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise TunesmithError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port") from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def serve(
    host: str,
    port: int,
    models: list[Path],
    store: Path | None,
    *,
    queue_size: int,
    echo: Callable[[str], None] = print,
) -> None:
    """Run the studio until Ctrl-C, after saying where it is and what it found."""
    import uvicorn

    from tunesmith.web.app import create_app

    installed = builtin_models()  # a built-in model's name is accepted too (it is listed anyway)
    models = [folder if folder.is_dir() else installed.get(str(folder), folder) for folder in models]
    for folder in models:
        if not folder.is_dir():
            raise TunesmithError(f"--models {folder} is not a folder")
    if not 1 <= queue_size <= 1000:
        raise TunesmithError(f"--queue {queue_size} is out of range: choose 1 to 1000")
    check_port(host, port)
    hosts = [*LOOPBACK_NAMES, host] if is_loopback(host) else None
    app = create_app(models, store, queue_size=queue_size, allowed_hosts=hosts)
    found = app.state.catalog.entries()
    shown = f"[{host}]" if ":" in host else host
    echo(f"models       {len(found)} found" + (": " + ", ".join(e.name for e in found[:6]) if found else ""))
    if not found:
        echo("             none yet: train one (tunesmith demo) or pass --models FOLDER")
    echo(f"results      kept ones in {app.state.store.root}")
    if not is_loopback(host):
        echo(f"warning      listening on {host}: anyone who can reach this machine can use the studio")
    echo(f"studio       http://{shown}:{port}/  (API docs at /docs; Ctrl-C stops it)")
    uvicorn.run(app, host=host.strip("[]"), port=port, log_level="warning")


@contextlib.contextmanager
def running(app: Any, host: str = "127.0.0.1", port: int | None = None, timeout: float = 20.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread for the ``with`` block; yields its base URL."""
    import uvicorn

    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="studio-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the studio did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
