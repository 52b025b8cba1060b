"""Delivery through AWS IoT Core, the way the seed's devices send readings (MQTT, QoS 1).

An IoT rule forwards each message to Firehose; give its Firehose action ``separator: "\\n"`` so
the S3 objects stay NDJSON. Messages are published without a trailing newline. Note that a rule
``SELECT *`` only forwards JSON payloads: broken-JSON test records belong on the Firehose path.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ingestion.delivery.base import (
    Delivery,
    DeliveryError,
    DeliveryReport,
    RetryPolicy,
    check_publish_target,
    progress_bar,
)

MAX_MESSAGE_BYTES = 128 * 1024  # IoT Core's MQTT payload limit
RETRYABLE_ERRORS = frozenset(
    {"ThrottlingException", "ServiceUnavailableException", "InternalFailureException"}
)
_PROGRESS_EVERY = 1_000


class IotCoreDelivery(Delivery):
    """Publishes one MQTT message per record with ``iot-data`` ``Publish`` at QoS 1."""

    def __init__(
        self,
        client: Any,
        topic: str,
        *,
        qos: int = 1,
        retry: RetryPolicy | None = None,
        progress: bool = True,
    ) -> None:
        check_publish_target(topic, qos)
        self.client = client
        self.topic = topic
        self.qos = qos
        self.retry = retry or RetryPolicy()
        self.progress = progress

    def deliver(self, records: Iterable[tuple[datetime, str]]) -> DeliveryReport:
        count = total_bytes = requests = retried = 0
        with progress_bar(records, enabled=self.progress, desc=f"iot {self.topic}") as bar:
            for _arrival, payload in records:
                data = payload.encode()
                if len(data) > MAX_MESSAGE_BYTES:
                    raise ValueError(
                        f"a message of {len(data)} bytes exceeds IoT Core's {MAX_MESSAGE_BYTES}"
                        f"-byte limit; shrink it: {payload[:80]!r}"
                    )
                calls = self._publish(data)
                requests += calls
                retried += calls - 1
                count += 1
                total_bytes += len(data)
                if count % _PROGRESS_EVERY == 0:
                    bar.update(_PROGRESS_EVERY)
            bar.update(count % _PROGRESS_EVERY)
        return DeliveryReport(
            records=count, bytes=total_bytes, requests=requests, retried_records=retried
        )

    def _publish(self, data: bytes) -> int:
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                self.client.publish(topic=self.topic, qos=self.qos, payload=data)
                return attempt
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "Unknown")
                if code not in RETRYABLE_ERRORS or attempt == self.retry.max_attempts:
                    raise DeliveryError(
                        f"publishing to IoT topic {self.topic!r} failed ({code}) after {attempt} "
                        f"attempt(s): {exc}. Check the iot-data endpoint (account-specific ATS "
                        "endpoint) and that the caller may iot:Publish on this topic."
                    ) from exc
                self.retry.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")
