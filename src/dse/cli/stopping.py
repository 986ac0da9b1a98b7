"""Ctrl-C for long commands: the first stops the work at its next check, the second aborts at once."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def first_interrupt_stops(message: str) -> Iterator[threading.Event]:
    """While the block runs, the first SIGINT sets the yielded event and prints `message` on stderr (the work
    stops at its next check, e.g. the next training batch); a second raises KeyboardInterrupt at once."""
    stop = threading.Event()

    def handler(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(f"\n{message}; Ctrl-C again to abort at once", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
