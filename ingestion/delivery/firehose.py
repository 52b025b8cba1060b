"""Delivery to a Kinesis Data Firehose stream with ``PutRecordBatch``.

``PutRecordBatch`` is not all-or-nothing: a 200 response may carry ``FailedPutCount > 0`` with an
``ErrorCode`` on some entries of ``RequestResponses``. Resending the whole batch would duplicate
the records that did land, so only the failed ones are sent again, with backoff.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ingestion.delivery.base import (
    Delivery,
    DeliveryError,
    DeliveryReport,
    RetryPolicy,
    progress_bar,
)

MAX_BATCH_RECORDS = 500  # PutRecordBatch limits (Firehose quotas)
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1_000 * 1024
RETRYABLE_CALL_ERRORS = frozenset(
    {"ServiceUnavailableException", "ThrottlingException", "InternalFailure"}
)


class FirehoseDeliveryError(DeliveryError):
    """Records Firehose kept rejecting after every retry."""


class FirehoseDelivery(Delivery):
    """Sends each payload plus ``\\n`` as one Firehose record, so S3 objects are NDJSON."""

    def __init__(
        self,
        client: Any,
        stream_name: str,
        *,
        retry: RetryPolicy | None = None,
        progress: bool = True,
    ) -> None:
        self.client = client
        self.stream_name = stream_name
        self.retry = retry or RetryPolicy()
        self.progress = progress

    def deliver(self, records: Iterable[tuple[datetime, str]]) -> DeliveryReport:
        count = total_bytes = requests = retried = 0
        desc = f"firehose {self.stream_name}"
        with progress_bar(records, enabled=self.progress, desc=desc) as bar:
            for batch in batches(records):
                calls, resent = self._send(batch)
                requests += calls
                retried += resent
                count += len(batch)
                total_bytes += sum(len(d) for d in batch)
                bar.update(len(batch))
        return DeliveryReport(
            records=count, bytes=total_bytes, requests=requests, retried_records=retried
        )

    def _send(self, batch: list[bytes]) -> tuple[int, int]:
        """Put one batch, resending only failed records; returns (calls, records resent)."""
        pending = batch
        calls = resent = 0
        codes: Counter[str] = Counter()
        for attempt in range(1, self.retry.max_attempts + 1):
            if attempt > 1:
                resent += len(pending)
                self.retry.sleep(self.retry.delay(attempt - 1))
            calls += 1
            try:
                response = self.client.put_record_batch(
                    DeliveryStreamName=self.stream_name,
                    Records=[{"Data": data} for data in pending],
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "Unknown")
                if code not in RETRYABLE_CALL_ERRORS:
                    raise FirehoseDeliveryError(
                        f"Firehose stream {self.stream_name!r} refused PutRecordBatch ({code}): "
                        f"{exc}. Check that the stream exists in this region and account and "
                        "that the caller may firehose:PutRecordBatch."
                    ) from exc
                codes = Counter({code: len(pending)})
                continue
            if not response.get("FailedPutCount"):
                return calls, resent
            answers = response["RequestResponses"]
            if len(answers) != len(pending):
                raise FirehoseDeliveryError(
                    f"Firehose answered {len(answers)} entries for {len(pending)} records; "
                    "cannot tell which failed, so nothing was resent"
                )
            failed = [(d, a) for d, a in zip(pending, answers, strict=True) if a.get("ErrorCode")]
            pending = [d for d, _ in failed]
            codes = Counter(a["ErrorCode"] for _, a in failed)
            if not pending:
                return calls, resent
        summary = ", ".join(f"{code} x{n}" for code, n in codes.most_common())
        raise FirehoseDeliveryError(
            f"{len(pending)} of {len(batch)} records were still rejected by Firehose stream "
            f"{self.stream_name!r} after {self.retry.max_attempts} attempts ({summary}). Check the "
            "stream's throughput quota and status (aws firehose describe-delivery-stream), then "
            "deliver again or raise RetryPolicy.max_attempts."
        )


def batches(records: Iterable[tuple[datetime, str]]) -> Iterator[list[bytes]]:
    """Record data (line + newline) grouped within PutRecordBatch's count and size limits."""
    batch: list[bytes] = []
    size = 0
    for _arrival, payload in records:
        data = payload.encode() + b"\n"
        if len(data) > MAX_RECORD_BYTES:
            raise ValueError(
                f"a record of {len(data)} bytes exceeds Firehose's {MAX_RECORD_BYTES}-byte "
                f"record limit; split or shrink it: {payload[:80]!r}"
            )
        if batch and (len(batch) == MAX_BATCH_RECORDS or size + len(data) > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(data)
        size += len(data)
    if batch:
        yield batch
