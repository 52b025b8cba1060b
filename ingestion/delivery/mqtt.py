"""Delivery to an MQTT broker, the way devices talk to IoT Core: one QoS 1 message per record.

Locally the broker is Mosquitto and :class:`~ingestion.mqtt_bridge.MqttToFirehoseBridge`
stands in for the IoT rule that forwards messages to Firehose. Against AWS IoT Core's MQTT
endpoint (port 8883) pass the device certificate with ``tls_ca``/``tls_cert``/``tls_key``.
Payloads are the NDJSON lines without their newline; a record counts as delivered once the
broker has acknowledged it (PUBACK), so when :meth:`MqttDelivery.deliver` returns, every record
is with the broker.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties

from ingestion.delivery.base import (
    Delivery,
    DeliveryError,
    DeliveryReport,
    check_publish_target,
    progress_bar,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1883
DEFAULT_TOPIC = "eventlake/readings"
_PROGRESS_EVERY = 1_000


class BrokerUnreachableError(DeliveryError):
    """The broker could not be reached or refused the connection."""


def parse_broker(text: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or ``mqtt://host:port`` -> ``(host, port)``."""
    rest = text.strip().removeprefix("mqtt://").rstrip("/")
    host, port = rest, str(DEFAULT_PORT)
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail:
            if not tail.startswith(":"):
                raise ValueError(f"not a broker address (host[:port]): {text!r}")
            port = tail[1:]
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not a broker address (host[:port]): {text!r}")
    return host, int(port)


def connect_client(
    client: mqtt.Client,
    host: str,
    port: int,
    *,
    keepalive: int,
    timeout: float,
    clean_start: bool,
    properties: Properties | None = None,
) -> None:
    """Connect ``client``, start its network thread and wait for a successful CONNACK."""
    connected = threading.Event()
    outcome: list[Any] = []
    previous = client.on_connect

    def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        outcome.append(reason)
        connected.set()
        if previous is not None:
            previous(c, userdata, flags, reason, props)

    client.on_connect = on_connect
    client.connect_timeout = timeout
    where = f"{host}:{port}"
    try:
        client.connect(
            host, port, keepalive=keepalive, clean_start=clean_start, properties=properties
        )
    except (OSError, ValueError) as exc:
        raise BrokerUnreachableError(
            f"cannot reach MQTT broker at {where}: {exc}; start mosquitto or pass --broker"
        ) from exc
    client.loop_start()
    if not connected.wait(timeout):
        client.loop_stop()
        raise BrokerUnreachableError(
            f"cannot reach MQTT broker at {where}: no CONNACK within {timeout:g} s; "
            "start mosquitto or pass --broker"
        )
    client.on_connect = previous
    if outcome[0].is_failure:
        client.loop_stop()
        raise BrokerUnreachableError(
            f"MQTT broker at {where} refused the connection: {outcome[0]}. Check the client id, "
            "credentials and certificates."
        )


def disconnect_client(client: mqtt.Client, timeout: float) -> None:
    """Disconnect cleanly and stop the network thread.

    Waits until the DISCONNECT has been written: packets are written in order, so every PUBACK
    queued before it has reached the broker. Stopping the thread at once could drop them.
    """
    done = threading.Event()
    previous = client.on_disconnect

    def on_disconnect(c: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        done.set()
        if previous is not None:
            previous(c, userdata, flags, reason, props)

    client.on_disconnect = on_disconnect
    if client.disconnect() == mqtt.MQTT_ERR_SUCCESS:
        done.wait(timeout)
    client.loop_stop()


def make_client(
    client_id: str | None,
    *,
    tls_ca: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    manual_ack: bool = False,
) -> mqtt.Client:
    """An MQTT 5 client; TLS when any certificate path is given (IoT Core needs all three)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or "",
        protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
    )
    if tls_ca or tls_cert or tls_key:
        client.tls_set(ca_certs=tls_ca, certfile=tls_cert, keyfile=tls_key)
    return client


@dataclass(frozen=True)
class BrokerEndpoint:
    """Where and how to connect: shared by the publishing delivery and the subscribing bridge."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    keepalive: int = 60
    timeout: float = 10.0
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be in 1..65535, got {self.port}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def new_client(self, client_id: str | None, *, manual_ack: bool = False) -> mqtt.Client:
        return make_client(
            client_id,
            tls_ca=self.tls_ca,
            tls_cert=self.tls_cert,
            tls_key=self.tls_key,
            manual_ack=manual_ack,
        )

    def connect(
        self, client: mqtt.Client, *, clean_start: bool, properties: Properties | None = None
    ) -> None:
        connect_client(
            client,
            self.host,
            self.port,
            keepalive=self.keepalive,
            timeout=self.timeout,
            clean_start=clean_start,
            properties=properties,
        )


class MqttDelivery(Delivery):
    """Publishes each record's payload to ``topic`` and waits for the broker's PUBACKs.

    Up to ``window`` messages are in flight at once (paho sends at most its
    ``max_inflight_messages`` of them, the rest wait in its queue), so a remote broker is not
    paced by its round trip. The connection is opened on the first :meth:`deliver` and closed by
    :meth:`close`. If the connection fails part way, the error says how many records the broker
    confirmed, in order; deliver the rest again (consumers must tolerate duplicates anyway, as
    with Firehose).
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        topic: str = DEFAULT_TOPIC,
        *,
        client_id: str | None = None,
        qos: int = 1,
        keepalive: int = 60,
        timeout: float = 10.0,
        window: int = 1_000,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        progress: bool = True,
    ) -> None:
        check_publish_target(topic, qos)
        if window < 1:
            raise ValueError(f"window must be positive, got {window}")
        self.endpoint = BrokerEndpoint(host, port, keepalive, timeout, tls_ca, tls_cert, tls_key)
        self.topic = topic
        self.qos = qos
        self.timeout = timeout
        self.window = window
        self.progress = progress
        self._client_id = client_id
        self._client: mqtt.Client | None = None

    @property
    def broker(self) -> str:
        return self.endpoint.address

    def _connected(self) -> mqtt.Client:
        if self._client is None:
            client = self.endpoint.new_client(self._client_id)
            client.max_queued_messages_set(0)  # unbounded: the window bounds it
            self.endpoint.connect(client, clean_start=True)
            self._client = client
        return self._client

    def deliver(self, records: Iterable[tuple[datetime, str]]) -> DeliveryReport:
        client = self._connected()
        count = total_bytes = confirmed = 0
        in_flight: deque[mqtt.MQTTMessageInfo] = deque()
        with progress_bar(records, enabled=self.progress, desc=f"mqtt {self.topic}") as bar:
            for _arrival, payload in records:
                data = payload.encode()
                in_flight.append(client.publish(self.topic, data, qos=self.qos))
                count += 1
                total_bytes += len(data)
                while len(in_flight) >= self.window:
                    self._confirm(in_flight.popleft(), confirmed)
                    confirmed += 1
                if count % _PROGRESS_EVERY == 0:
                    bar.update(_PROGRESS_EVERY)
            while in_flight:
                self._confirm(in_flight.popleft(), confirmed)
                confirmed += 1
            bar.update(count % _PROGRESS_EVERY)
        return DeliveryReport(records=count, bytes=total_bytes, requests=count)

    def _confirm(self, info: mqtt.MQTTMessageInfo, confirmed: int) -> None:
        """Wait for one message's PUBACK (QoS 1) or its hand-over to the socket (QoS 0)."""
        try:
            info.wait_for_publish(self.timeout)
            ok = info.is_published()
            why = f"no PUBACK within {self.timeout:g} s"
        except (RuntimeError, ValueError) as exc:
            ok, why = False, str(exc)
        if not ok:
            raise DeliveryError(
                f"publishing to topic {self.topic!r} on MQTT broker at {self.broker} failed: "
                f"{why}. At least the first {confirmed} records of this call were acknowledged; "
                "deliver the rest again."
            )

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            disconnect_client(client, self.timeout)

    def abort(self) -> None:
        self.close()  # nothing is buffered: on errors too, never leave the network thread running
