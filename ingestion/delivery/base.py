"""The one interface every delivery path implements, and what they share.

The simulator, the CLI and the pipeline hand records to a :class:`Delivery` without knowing
whether they land in a local folder, go through Firehose, or are published to IoT Core.
"""

from __future__ import annotations

import random
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from tqdm import tqdm


@dataclass(frozen=True)
class DeliveryReport:
    """What one ``deliver`` call did.

    ``bytes`` counts payload bytes sent, newlines included, before any compression. ``objects``
    is the number of objects written (local delivery), ``requests`` the API calls made and
    ``retried_records`` how many records had to be sent again after a partial failure.
    """

    records: int
    bytes: int
    objects: int = 0
    requests: int = 0
    retried_records: int = 0


class DeliveryError(RuntimeError):
    """A delivery gave up; the message says which records and what to do next."""


class Delivery(ABC):
    """Sends ``(arrival, payload)`` records, payload being one NDJSON line without newline."""

    @abstractmethod
    def deliver(self, records: Iterable[tuple[datetime, str]]) -> DeliveryReport:
        """Deliver every record; when it returns, all of them have been handed over."""

    def close(self) -> None:  # noqa: B027 - most deliveries hold nothing to release
        """Release resources and hand over anything still buffered."""

    def __enter__(self) -> Delivery:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def abort(self) -> None:  # noqa: B027 - buffering deliveries must not flush after an error
        """Release resources after an error without handing anything more over."""


def check_publish_target(topic: str, qos: int) -> None:
    """An MQTT publish needs a concrete topic (no wildcards) and QoS 0 or 1 (IoT Core's maximum)."""
    if not topic or "#" in topic or "+" in topic:
        raise ValueError(f"topic must be a concrete MQTT topic without wildcards, got {topic!r}")
    if qos not in (0, 1):
        raise ValueError(f"qos must be 0 or 1 (IoT Core supports no more), got {qos}")


def progress_bar(records: Iterable[Any], *, enabled: bool, desc: str) -> tqdm:
    """A progress bar that stays silent when asked to or when stderr is not a terminal.

    Callers update it per batch or per object, never per record, so a disabled bar costs
    nothing on a million records.
    """
    total = len(records) if isinstance(records, Sized) else None
    return tqdm(
        total=total,
        desc=desc,
        unit="rec",
        unit_scale=True,
        disable=not enabled or not sys.stderr.isatty(),
    )


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter (AWS's recommendation): uniform in [0, base*2^n]."""
    return rng.uniform(0.0, min(cap, base * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class RetryPolicy:
    """How a delivery retries a failed call: how often, and how long it waits in between.

    ``sleep`` and ``rng`` are injectable so tests neither wait nor depend on chance; ``rng``
    defaults to a fresh ``random.Random()``.
    """

    max_attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError(
                f"base_delay and max_delay must not be negative, got {self.base_delay} "
                f"and {self.max_delay}"
            )
        if self.rng is None:
            object.__setattr__(self, "rng", random.Random())

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based), see :func:`backoff_delay`."""
        assert self.rng is not None  # set in __post_init__
        return backoff_delay(attempt, base=self.base_delay, cap=self.max_delay, rng=self.rng)
