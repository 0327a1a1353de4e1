"""Ctrl-C during a run: the first press asks the run to stop after the current step (it then saves a checkpoint),
a second press stops at once."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StopRequest:
    """A flag the training loop checks after every step."""

    def __init__(self) -> None:
        self.requested = False

    def request(self) -> None:
        self.requested = True


@contextmanager
def ctrl_c_requests_stop(stop: StopRequest, announce: bool) -> Iterator[None]:
    """While inside, SIGINT sets `stop` (a second one raises KeyboardInterrupt); the previous handler comes back."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may handle signals
        yield
        return

    def handler(signum, frame):
        if stop.requested:
            raise KeyboardInterrupt
        stop.request()
        if announce:
            print("\nCtrl-C: finishing this step and saving a checkpoint (press again to quit at once)",
                  file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
