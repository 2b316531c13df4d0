"""Run a function in a child process with a timeout, so that a crash or a hang is an outcome, not the end.

Children come from a fork server that imported hdmf-ai once: a fresh interpreter per case would cost seconds.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["CALLS", "refused_or", "run_isolated"]

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["hdmf_ai"])
#: ``Process.start()`` polls every other child of this process (``multiprocessing.process._cleanup``). When that
#: poll, in one thread, and a ``join`` in another read a child's exit status from the fork server at once, the
#: second read meets the end of the pipe and records exit code 255: a crash that did not happen (1 in about 400
#: calls from two threads). Starting and reaping under one lock keeps the reads apart.
_REAPING = threading.Lock()


def _child(conn: Connection, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        result = ("returned", target(*args))
    except BaseException as err:
        result = ("raised", f"{type(err).__name__}: {str(err)[:2000]}")
    conn.send(result)


def run_isolated(target: Callable[..., Any], *args: Any, timeout: float = 60.0) -> tuple[str, Any]:
    """``("returned", value)``, ``("raised", "Type: message")``, ``("crash", exit code)`` or ``("hang", seconds)``.

    ``target`` must be importable by name (a module-level function): the child imports it.
    """
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_child, args=(sender, target, args))
    with _REAPING:
        child.start()
    sender.close()
    # the report is read before joining: a long one would otherwise block the child in send()
    report = None
    try:
        if receiver.poll(timeout):
            report = receiver.recv()
    except EOFError:  # the child died before it reported: its exit code tells how
        pass
    with _REAPING:
        child.join(timeout if report is not None else 0)
        hung = child.is_alive()
        if hung:
            child.kill()
            child.join()
        exitcode = child.exitcode
    if hung:
        return "hang", timeout
    receiver.close()
    if exitcode != 0 or report is None:
        return "crash", exitcode
    return report


def _open_and_read(path: str) -> None:
    import hdmf_ai

    with hdmf_ai.open(path) as table:
        for name in table.colnames:
            table[name].data[:]


def _calls() -> dict[str, Callable[[str], Any]]:
    import hdmf_ai

    return {"read": hdmf_ai.read, "list_tables": hdmf_ai.list_tables, "open": _open_and_read}


#: the calls :func:`refused_or` makes, by name
CALLS = ("read", "list_tables", "open")


def refused_or(call: str, path: str, address_space: int | None = None) -> str:
    """``call`` (one of :data:`CALLS`: ``open`` reads every column) on ``path``: ``"refused: <message>"`` for our
    ``ResultsFileError``, else ``"done"``; other exceptions propagate. Meant for a child of :func:`run_isolated`;
    ``address_space`` (bytes) bounds the child's memory there, so that an allocation of gigabytes fails."""
    import resource

    import hdmf_ai

    if address_space is not None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    try:
        _calls()[call](path)
    except hdmf_ai.ResultsFileError as err:
        return f"refused: {err}"
    return "done"
