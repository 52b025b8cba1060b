"""MQTT -> raw zone: the local stand-in for the IoT rule that forwards messages to Firehose.

Devices publish to a broker (Mosquitto locally); :class:`MqttToFirehoseBridge` subscribes to a
topic filter and hands every message's payload, as one NDJSON line stamped with its receive time
(UTC), to a :class:`~ingestion.delivery.local.LocalFirehoseDelivery`, which lands Firehose-style
objects. Buffering follows the delivery: an object is landed when the next message would take
the buffer past ``buffer_bytes``, when the buffer is ``buffer_interval`` old (wall clock, also
while no message arrives), when ``max_pending`` messages are waiting, and when the bridge stops.

No message is lost: the subscription is QoS 1 on a persistent session (``clean_start`` False,
a session expiry), and a message is acknowledged only once the object holding it has landed. A
message the bridge never acknowledged (it crashed, stopped at ``max_messages``, or landing
failed) stays with the broker and is delivered again on the next run with the same client id.
Delivery is at least once, exactly like Firehose: a crash between landing and acknowledging
lands a message twice, and the pipeline already handles duplicates. Mosquitto queues at most
``max_queued_messages`` (default 1000) messages for a disconnected session; raise it in
``mosquitto.conf`` if the bridge may be down while devices keep sending.

Payloads are landed as they came, with two exceptions that keep one message one line of valid
UTF-8:

* bytes that are not UTF-8 become ``\\xNN`` escapes. Landing them raw would make DuckDB's
  reader reject the whole object (and so every build) instead of the one line; an ``\\x``
  escape is never valid JSON, so the line is quarantined as ``invalid_json`` with the original
  bytes still visible.
* CR and LF become spaces. JSON strings cannot hold them raw, so a pretty-printed document keeps
  its meaning; left in, they would split one message into several lines.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingestion.delivery.base import DeliveryError, DeliveryReport
from ingestion.delivery.local import LocalFirehoseDelivery
from ingestion.delivery.mqtt import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_TOPIC,
    BrokerEndpoint,
    disconnect_client,
)
from ingestion.raw_zone import utcnow

DEFAULT_CLIENT_ID = "eventlake-mqtt-bridge"
DEFAULT_SESSION_EXPIRY = 7 * 24 * 3_600  # seconds the broker keeps the session while we are away
MAX_RECEIVE_MAXIMUM = 65_535
_NEWLINES = str.maketrans({"\n": " ", "\r": " "})


def payload_to_line(payload: bytes) -> str:
    """One message's payload as one NDJSON line (see the module docstring)."""
    return payload.decode("utf-8", errors="backslashreplace").translate(_NEWLINES)


class MqttToFirehoseBridge:
    """Subscribes to ``topic`` (a filter, e.g. ``sensors/+/temperature``) and lands messages.

    :meth:`run` blocks until :meth:`stop` is called (from another thread or a signal handler),
    ``max_messages`` have been received, or no message arrived for ``idle_timeout`` seconds;
    then it lands what is buffered and returns the totals. ``subscribed`` is set once the broker
    has granted the subscription.
    """

    def __init__(
        self,
        delivery: LocalFirehoseDelivery,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        topic: str = DEFAULT_TOPIC,
        client_id: str = DEFAULT_CLIENT_ID,
        qos: int = 1,
        session_expiry: int = DEFAULT_SESSION_EXPIRY,
        keepalive: int = 60,
        timeout: float = 10.0,
        max_pending: int = 10_000,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        poll_interval: float = 0.2,
    ) -> None:
        if not topic:
            raise ValueError("topic must be a non-empty MQTT topic filter")
        if not client_id:
            raise ValueError("client_id must be set: a persistent session is found by its id")
        if qos not in (0, 1):
            raise ValueError(f"qos must be 0 or 1, got {qos}")
        if not 0 < max_pending <= MAX_RECEIVE_MAXIMUM:
            raise ValueError(f"max_pending must be in 1..{MAX_RECEIVE_MAXIMUM}, got {max_pending}")
        if session_expiry < 0 or poll_interval <= 0:
            raise ValueError("session_expiry must be >= 0 and poll_interval positive")
        self.endpoint = BrokerEndpoint(host, port, keepalive, timeout, tls_ca, tls_cert, tls_key)
        self.delivery = delivery
        self.topic = topic
        self.client_id = client_id
        self.qos = qos
        self.session_expiry = session_expiry
        self.timeout = timeout
        self.max_pending = max_pending
        self.clock = clock
        self.poll_interval = poll_interval
        self.subscribed = threading.Event()
        self._barrier_done = threading.Event()
        self._stop = threading.Event()
        self._inbox: queue.Queue[tuple[datetime, mqtt.MQTTMessage]] = queue.Queue()
        self._subscribe_error: str | None = None
        # The current buffer: lines in arrival order, and the messages to acknowledge for them.
        self._lines: list[tuple[datetime, str]] = []
        self._acks: list[tuple[int, int]] = []
        self._mids: set[int] = set()
        self._bytes = 0
        self._opened = 0.0
        self._totals = [0, 0, 0]  # records, bytes, objects

    @property
    def broker(self) -> str:
        return self.endpoint.address

    def stop(self) -> None:
        """Ask :meth:`run` to land what it holds and return (safe from any thread)."""
        self._stop.set()

    def run(
        self, max_messages: int | None = None, idle_timeout: float | None = None
    ) -> DeliveryReport:
        """Forward messages until stopped; returns what was landed during this call."""
        if max_messages is not None and max_messages < 1:
            raise ValueError(f"max_messages must be at least 1, got {max_messages}")
        self._stop.clear()
        self.subscribed.clear()
        self._subscribe_error = None
        # Whatever a failed run held was never acknowledged: the broker sends it again.
        self._inbox = queue.Queue()
        self._lines, self._acks, self._mids, self._bytes = [], [], set(), 0
        self._totals = [0, 0, 0]
        client = self.endpoint.new_client(self.client_id, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_unsubscribe = lambda *_: self._barrier_done.set()
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.session_expiry
        # The broker sends at most this many unacknowledged messages; we land before reaching it.
        properties.ReceiveMaximum = self.max_pending
        self.endpoint.connect(client, clean_start=False, properties=properties)
        try:
            if not self.subscribed.wait(self.timeout):
                raise DeliveryError(
                    f"MQTT broker at {self.broker} did not confirm the subscription to "
                    f"{self.topic!r} within {self.timeout:g} s"
                )
            if self._subscribe_error:
                raise DeliveryError(self._subscribe_error)
            self._pump(client, max_messages, idle_timeout)
        finally:
            self._barrier(client)
            disconnect_client(client, self.timeout)
        records, total_bytes, objects = self._totals
        return DeliveryReport(records=records, bytes=total_bytes, objects=objects)

    def _pump(
        self, client: mqtt.Client, max_messages: int | None, idle_timeout: float | None
    ) -> None:
        interval = self.delivery.buffer_interval.total_seconds()
        received = 0
        last_message = time.monotonic()
        last_arrival: datetime | None = None
        try:
            while not self._stop.is_set() and (max_messages is None or received < max_messages):
                now = time.monotonic()
                if self._lines and now - self._opened >= interval:
                    self._flush(client)
                if idle_timeout is not None and now - last_message >= idle_timeout:
                    break
                wait = self.poll_interval
                if self._lines:
                    wait = min(wait, self._opened + interval - now)
                if idle_timeout is not None:
                    wait = min(wait, last_message + idle_timeout - now)
                try:
                    arrival, message = self._inbox.get(timeout=max(wait, 0.0))
                except queue.Empty:
                    continue
                last_message = time.monotonic()
                if message.qos > 0 and message.mid in self._mids:
                    continue  # the broker resent (after a reconnect) a message we already hold
                # The delivery needs arrival order; never let a wall-clock step go backwards.
                if last_arrival is not None and arrival < last_arrival:
                    arrival = last_arrival
                last_arrival = arrival
                self._add(client, arrival, message)
                received += 1
        except KeyboardInterrupt:
            self._flush(client)
            raise
        self._flush(client)

    def _add(self, client: mqtt.Client, arrival: datetime, message: mqtt.MQTTMessage) -> None:
        line = payload_to_line(message.payload)
        size = len(line.encode()) + 1
        if self._lines and self._bytes + size > self.delivery.buffer_bytes:
            self._flush(client)
        if not self._lines:
            self._opened = time.monotonic()
        self._lines.append((arrival, line))
        self._bytes += size
        if message.qos > 0:
            self._acks.append((message.mid, message.qos))
            self._mids.add(message.mid)
        if len(self._acks) >= self.max_pending:
            self._flush(client)

    def _flush(self, client: mqtt.Client) -> None:
        """Land the buffer, then acknowledge its messages; if landing fails, acknowledge none."""
        if not self._lines:
            return
        report = self.delivery.deliver(self._lines)
        for mid, qos in self._acks:
            client.ack(mid, qos)
        self._totals[0] += report.records
        self._totals[1] += report.bytes
        self._totals[2] += report.objects
        self._lines, self._acks, self._mids, self._bytes = [], [], set(), 0

    def _barrier(self, client: mqtt.Client) -> None:
        """Wait until the broker has read every packet sent so far, the last PUBACKs above all.

        The broker keeps sending while we stop, so our socket is closed with unread data, which
        resets the connection: the broker may then drop PUBACKs it had not read yet, and send
        those messages again next run. An UNSUBSCRIBE of a filter we never subscribed changes
        nothing, but its UNSUBACK comes after the broker has processed everything before it.
        """
        self._barrier_done.clear()
        rc, _mid = client.unsubscribe(f"eventlake-bridge-barrier/{uuid.uuid4().hex}")
        if rc == mqtt.MQTT_ERR_SUCCESS:
            self._barrier_done.wait(self.timeout)

    # paho callbacks, run on its network thread
    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe(self.topic, qos=self.qos)  # also after every automatic reconnect

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: list[Any], *_: Any
    ) -> None:
        failed = [r for r in reasons if r.is_failure]
        if failed:
            self._subscribe_error = (
                f"MQTT broker at {self.broker} refused the subscription to {self.topic!r}: "
                f"{failed[0]}"
            )
        self.subscribed.set()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._inbox.put((self.clock(), message))
