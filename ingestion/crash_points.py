"""Deterministic crash points, so the kill -9 tests need no timing.

``EVENTLAKE_CRASH_AT=<point>:<n>`` makes the process kill itself with SIGKILL the n-th time it
reaches the named point (for example ``object-landed:3`` right after the third raw object has
landed, ``before-rename:1`` with a fully written temporary file not yet renamed into place). A
SIGKILL cannot be caught, so what the test sees afterwards is exactly what a ``kill -9`` at
that moment would leave. Unset (always, outside tests), a point costs one dict lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

CRASH_ENV = "EVENTLAKE_CRASH_AT"
_hits: Counter[str] = Counter()


def crash_point(name: str) -> None:
    """SIGKILL this process if ``$EVENTLAKE_CRASH_AT`` names this point and hit count."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    point, _, count = wanted.rpartition(":")
    if point != name:
        return
    _hits[name] += 1
    if _hits[name] == int(count):
        os.kill(os.getpid(), signal.SIGKILL)
