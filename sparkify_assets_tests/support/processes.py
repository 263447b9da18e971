"""What every server a test starts shares: on Linux it dies with the test process that started it, so a pytest
worker killed mid-run (SIGKILL, a CI time-out) leaves no webserver or database behind for the next run to trip on."""

from __future__ import annotations

import ctypes
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` that has Linux send `sig` to the child when the thread that started it dies, or None
    elsewhere. Only a prctl() through a function resolved before fork, so forking with threads is safe."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:  # runs in the child (after any setuid), so the setting sticks
        prctl(PR_SET_PDEATHSIG, int(sig))

    return preexec
