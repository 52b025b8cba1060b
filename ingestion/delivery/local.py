"""A local stand-in for Firehose's S3 destination: same buffering, same object layout.

Firehose holds records in a buffer and writes one S3 object when the buffer reaches its size
hint or its interval elapses. The object's ``YYYY/MM/DD/HH/`` prefix and the timestamp in its
name are "the approximate arrival timestamp of the oldest record that's contained in the Amazon
S3 object" (Firehose developer guide, custom prefixes), i.e. when the buffer was opened, not
when it was flushed. We do the same, driven by the records' arrival times rather than the wall
clock, so a simulated week lands in seconds and the layout matches what AWS would produce.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from tqdm import tqdm

from ingestion.delivery.base import Delivery, DeliveryError, DeliveryReport, progress_bar
from ingestion.raw_zone import RawZone, batch_object_id

DEFAULT_BUFFER_BYTES = 5 * 1024 * 1024  # Firehose's default S3 buffering hint (5 MiB)
DEFAULT_BUFFER_INTERVAL = timedelta(seconds=300)  # and its default interval


class LocalFirehoseDelivery(Delivery):
    """Buffers records in arrival order and lands objects atomically in a :class:`RawZone`.

    An object is written when adding the next record would take the buffer past
    ``buffer_bytes`` (so objects stay within the hint unless one record alone exceeds it), when a
    record arrives ``buffer_interval`` or more after the buffer's first record, and at the end of
    each ``deliver`` call (the stream goes idle, so the interval would elapse). Sizes are of the
    uncompressed lines, as Firehose buffers before compressing.

    With ``batch`` (a replayable batch's id, e.g. a simulation config's), the n-th object is
    named :func:`~ingestion.raw_zone.batch_object_id` ``(batch, n)`` and an object already landed
    under that name is skipped: delivering the same records again after a crash lands only the
    objects the crash prevented, byte for byte as an uninterrupted run would have.
    """

    def __init__(
        self,
        raw_zone: RawZone,
        feed: str,
        stream: str,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        buffer_interval: timedelta = DEFAULT_BUFFER_INTERVAL,
        gzip: bool = False,
        *,
        progress: bool = True,
        batch: str | None = None,
    ) -> None:
        if buffer_bytes < 1:
            raise ValueError(f"buffer_bytes must be positive, got {buffer_bytes}")
        if buffer_interval <= timedelta(0):
            raise ValueError(f"buffer_interval must be positive, got {buffer_interval}")
        for name, value in (("feed", feed), ("stream", stream)):
            if not value or "/" in value:
                raise ValueError(f"{name} must be a non-empty name without '/', got {value!r}")
        self.raw_zone = raw_zone
        self.feed = feed
        self.stream = stream
        self.buffer_bytes = buffer_bytes
        self.buffer_interval = buffer_interval
        self.gzip = gzip
        self.progress = progress
        self.batch = batch
        self.written: list[Path] = []
        self._buffer: list[str] = []
        self._buffered_bytes = 0
        self._opened_at: datetime | None = None

    def deliver(self, records: Iterable[tuple[datetime, str]]) -> DeliveryReport:
        """Buffer and land ``records``, which must come in arrival order."""
        objects_before = len(self.written)
        with progress_bar(records, enabled=self.progress, desc=f"landing {self.feed}") as bar:
            if isinstance(records, ColumnarRecords) and not self._buffer:
                count, total_bytes = self._deliver_columns(records, bar)
            else:
                count, total_bytes = self._deliver_rows(records, bar)
        return DeliveryReport(
            records=count, bytes=total_bytes, objects=len(self.written) - objects_before
        )

    def _deliver_rows(self, records: Iterable[tuple[datetime, str]], bar: tqdm) -> tuple[int, int]:
        count = total_bytes = 0
        limit = self.buffer_bytes
        deadline: datetime | None = None
        last: datetime | None = None
        for arrival, payload in records:
            if last is not None and arrival < last:
                raise _unsorted(arrival, last)
            last = arrival
            if "\n" in payload:
                raise _multiline(payload)
            size = (len(payload) if payload.isascii() else len(payload.encode())) + 1
            if self._buffer and (
                arrival >= deadline  # type: ignore[operator]
                or self._buffered_bytes + size > limit
            ):
                bar.update(len(self._buffer))
                self._flush()
            if not self._buffer:
                self._opened_at = arrival
                deadline = arrival + self.buffer_interval
            self._buffer.append(payload)
            self._buffered_bytes += size
            count += 1
            total_bytes += size
        bar.update(len(self._buffer))
        self._flush()
        return count, total_bytes

    def _deliver_columns(self, records: ColumnarRecords, bar: tqdm) -> tuple[int, int]:
        """Same buffering as :meth:`_deliver_rows`, with object boundaries found by numpy.

        Each object is the longest run from its first record that stays before the interval
        deadline and within the size hint, so the objects are identical to the row path's; only
        the per-record Python work is gone (a million records land about 5x faster).
        """
        arrivals = np.asarray(records.arrivals_us, dtype=np.int64)
        payloads = records.payloads
        n = len(payloads)
        if n == 0:
            return 0, 0
        backwards = np.flatnonzero(np.diff(arrivals) < 0)
        if backwards.size:
            row = int(backwards[0])
            raise _unsorted(_from_us(arrivals[row + 1]), _from_us(arrivals[row]))
        sizes = np.fromiter(map(len, payloads), dtype=np.int64, count=n)
        if not all(map(str.isascii, payloads)):
            sizes = np.fromiter((len(p.encode()) for p in payloads), dtype=np.int64, count=n)
        ends = np.cumsum(sizes + 1)
        interval_us = self.buffer_interval // timedelta(microseconds=1)
        first = 0
        while first < n:
            deadline = int(arrivals[first]) + interval_us
            by_time = int(np.searchsorted(arrivals, deadline, side="left"))
            before = int(ends[first - 1]) if first else 0
            by_size = int(np.searchsorted(ends, before + self.buffer_bytes, side="right"))
            stop = max(first + 1, min(by_time, by_size))
            chunk = payloads[first:stop]
            body = "\n".join(chunk) + "\n"
            if body.count("\n") != len(chunk):
                raise _multiline(next(p for p in chunk if "\n" in p))
            self._write(body, chunk, _from_us(arrivals[first]))
            bar.update(len(chunk))
            first = stop
        return n, int(ends[-1])

    def close(self) -> None:
        """Land whatever is still buffered (only after a failed flush)."""
        self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        assert self._opened_at is not None
        self._write("\n".join(self._buffer) + "\n", self._buffer, self._opened_at)

    def _write(self, body: str, chunk: list[str], opened_at: datetime) -> None:
        """Land one object; on failure keep its records buffered so close() can retry."""
        try:
            # write_object passes a newline-terminated string through as is: one pre-joined
            # text avoids re-encoding every record.
            object_id = None
            if self.batch is not None:
                object_id = batch_object_id(self.batch, len(self.written))
            path = self.raw_zone.write_object(
                self.feed,
                self.stream,
                [body],
                opened_at,
                gzip_compressed=self.gzip,
                object_id=object_id,
            )
        except OSError as exc:
            self._buffer = list(chunk)
            self._buffered_bytes = len(body.encode())
            self._opened_at = opened_at
            raise DeliveryError(
                f"could not land {len(chunk)} records of feed {self.feed!r} (buffer opened at "
                f"{opened_at:%Y-%m-%d %H:%M:%S}) under {self.raw_zone.root}: {exc}. No partial "
                "object is visible and earlier objects are complete; fix the cause (disk space, "
                "permissions), then call close() to land this buffer and deliver the records "
                "that arrived after it again."
            ) from exc
        self.written.append(path)
        self._buffer = []
        self._buffered_bytes = 0
        self._opened_at = None


@runtime_checkable
class ColumnarRecords(Protocol):
    """Records held as columns (e.g. ``ArrivalOrderedRecords``): arrival microseconds since the
    epoch, and the payloads, both in arrival order."""

    arrivals_us: np.ndarray
    payloads: list[str]


def _from_us(microseconds: np.integer | int) -> datetime:
    return datetime.fromtimestamp(int(microseconds) / 1e6, UTC)


def _unsorted(arrival: datetime, previous: datetime) -> ValueError:
    return ValueError(
        f"records must be sorted by arrival time; {arrival} came after {previous}. "
        "Sort them first (SimulationResult.records already is)."
    )


def _multiline(payload: str) -> ValueError:
    return ValueError(
        f"payload holds a newline, which would split it into two NDJSON lines: {payload[:80]!r}"
    )
