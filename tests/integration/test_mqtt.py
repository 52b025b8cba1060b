"""MQTT delivery and the MQTT -> raw zone bridge against a real broker.

The broker is ``$EVENTLAKE_TEST_MQTT_URL`` (``mqtt://host:port``) or Mosquitto on
127.0.0.1:1883; tests that need it are skipped, with the reason, when it is not reachable.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingestion.delivery import (
    BrokerUnreachableError,
    DeliveryReport,
    LocalFirehoseDelivery,
    MqttDelivery,
    make_delivery,
)
from ingestion.delivery.mqtt import parse_broker
from ingestion.mqtt_bridge import MqttToFirehoseBridge, payload_to_line
from ingestion.raw_zone import RawZone
from ingestion.sensors import SimulationConfig, simulate

FEED, STREAM = "sensor_readings", "eventlake-sensor-readings"
KEY = re.compile(
    rf"^{FEED}/(\d{{4}})/(\d{{2}})/(\d{{2}})/(\d{{2}})/{STREAM}-1-"
    r"(\d{4})-(\d{2})-(\d{2})-(\d{2})-\d{2}-\d{2}-[0-9a-f-]{36}$"
)


@pytest.fixture(scope="module")
def broker() -> tuple[str, int]:
    url = os.environ.get("EVENTLAKE_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
    host, port = parse_broker(url)
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        pytest.skip(f"no MQTT broker at {host}:{port} ({exc}); set EVENTLAKE_TEST_MQTT_URL")
    return host, port


@pytest.fixture
def topic() -> str:
    return f"eventlake-test/{uuid.uuid4().hex}/readings"


def _free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Subscriber:
    """A plain paho subscriber collecting payloads in arrival order."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.payloads: list[bytes] = []
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.payloads.append(m.payload)
        self.client.connect(host, port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "subscription not confirmed"

    def wait_for(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.payloads) < count and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class BridgeThread:
    """Runs a bridge in a thread and keeps its report or its exception."""

    def __init__(self, bridge: MqttToFirehoseBridge, **run_args: object) -> None:
        self.bridge = bridge
        self.report: DeliveryReport | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, kwargs=run_args, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not bridge.subscribed.is_set() and self.error is None:
            assert time.monotonic() < deadline, "bridge never subscribed"
            time.sleep(0.02)

    def _run(self, **run_args: object) -> None:
        try:
            self.report = self.bridge.run(**run_args)  # type: ignore[arg-type]
        except BaseException as exc:  # re-raised in join()
            self.error = exc

    def join(self, timeout: float = 30) -> DeliveryReport:
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.bridge.stop()
            self.thread.join(10)
            pytest.fail("bridge did not finish in time")
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


@pytest.fixture
def subscriber_factory() -> Iterator[list[Subscriber]]:
    made: list[Subscriber] = []
    yield made
    for sub in made:
        sub.close()


def _simulated_records(count: int) -> list[tuple[datetime, str]]:
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    result = simulate(
        SimulationConfig(
            rooms=("A101", "B202"),
            start=start,
            end=start + timedelta(hours=4),
            cadence=timedelta(seconds=30),  # 960 readings, of which we send the first `count`
            seed=11,
            malformed_fraction=0.05,
        )
    )
    records = list(result.records)[:count]
    assert len(records) == count
    return records


def _landed_lines(zone: RawZone) -> tuple[list[str], list[Path]]:
    objects = zone.objects(FEED)
    lines: list[str] = []
    for path in objects:
        key = path.relative_to(zone.root).as_posix()
        match = KEY.match(key)
        assert match, key
        prefix, stamp = match.groups()[:4], match.groups()[4:]
        assert prefix == stamp, f"prefix and name disagree on the hour: {key}"
        body = path.read_bytes().decode("utf-8")
        assert body.endswith("\n")
        lines.extend(body[:-1].split("\n"))
    return lines, objects


def test_mqtt_delivery_publishes_every_record_in_order(
    broker: tuple[str, int], topic: str, subscriber_factory: list[Subscriber]
) -> None:
    host, port = broker
    sub = Subscriber(host, port, topic)
    subscriber_factory.append(sub)
    arrival = datetime(2026, 3, 2, tzinfo=UTC)
    payloads = [f'{{"n": {i}, "room_id": "A101", "note": "é"}}' for i in range(300)]
    with MqttDelivery(host, port, topic, progress=False, window=50) as delivery:
        report = delivery.deliver([(arrival, p) for p in payloads])
    assert report.records == 300 and report.requests == 300
    assert report.bytes == sum(len(p.encode()) for p in payloads)
    sub.wait_for(300)
    assert [p.decode() for p in sub.payloads] == payloads


def test_bridge_lands_simulated_readings_end_to_end(
    broker: tuple[str, int], topic: str, tmp_path: Path
) -> None:
    host, port = broker
    zone = RawZone(tmp_path / "raw")
    delivery = LocalFirehoseDelivery(zone, FEED, STREAM, buffer_bytes=8 * 1024, progress=False)
    bridge = MqttToFirehoseBridge(
        delivery,
        host=host,
        port=port,
        topic=topic.rsplit("/", 1)[0] + "/+",  # a filter, as an IoT rule would use
        client_id=f"eventlake-test-{uuid.uuid4().hex[:12]}",
        session_expiry=60,
    )
    running = BridgeThread(bridge, max_messages=500, idle_timeout=20)
    records = _simulated_records(500)
    with MqttDelivery(host, port, topic, progress=False) as publisher:
        publisher.deliver(records)
    report = running.join()

    lines, objects = _landed_lines(zone)
    sent = [payload for _, payload in records]
    assert Counter(lines) == Counter(sent)
    assert report.records == 500 and report.objects == len(objects) > 1  # size-bounded objects
    assert all(p.stat().st_size <= 8 * 1024 for p in objects)
    assert any(not line.endswith("}") for line in lines), "malformed records were sent too"


def test_bridge_restart_loses_nothing(broker: tuple[str, int], topic: str, tmp_path: Path) -> None:
    """Messages that arrive after a run stops, or while no bridge runs, wait in the persistent
    session for the next run under the same client id."""
    host, port = broker
    zone = RawZone(tmp_path / "raw")
    client_id = f"eventlake-test-{uuid.uuid4().hex[:12]}"

    def bridge() -> MqttToFirehoseBridge:
        delivery = LocalFirehoseDelivery(zone, FEED, STREAM, progress=False)
        return MqttToFirehoseBridge(
            delivery, host=host, port=port, topic=topic, client_id=client_id, session_expiry=60
        )

    records = _simulated_records(350)
    first = BridgeThread(bridge(), max_messages=120, idle_timeout=20)
    with MqttDelivery(host, port, topic, progress=False) as publisher:
        publisher.deliver(records[:300])  # the bridge stops part way through these
        assert first.join().records == 120
        publisher.deliver(records[300:])  # no bridge running
    second = BridgeThread(bridge(), max_messages=230, idle_timeout=20)
    assert second.join().records == 230
    lines, _ = _landed_lines(zone)
    assert Counter(lines) == Counter(payload for _, payload in records)
    assert BridgeThread(bridge(), idle_timeout=0.5).join().records == 0  # nothing left over


def test_bridge_lands_a_quiet_buffer_when_its_interval_elapses(
    broker: tuple[str, int], topic: str, tmp_path: Path
) -> None:
    host, port = broker
    zone = RawZone(tmp_path / "raw")
    delivery = LocalFirehoseDelivery(
        zone, FEED, STREAM, buffer_interval=timedelta(seconds=0.3), progress=False
    )
    bridge = MqttToFirehoseBridge(
        delivery,
        host=host,
        port=port,
        topic=topic,
        client_id=f"eventlake-test-{uuid.uuid4().hex}",
        session_expiry=60,
    )
    running = BridgeThread(bridge)  # no limits: runs until stopped
    with MqttDelivery(host, port, topic, progress=False) as publisher:
        publisher.deliver([(datetime.now(UTC), f'{{"n": {i}}}') for i in range(5)])
    deadline = time.monotonic() + 5
    while not zone.objects(FEED) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert zone.objects(FEED), "the buffer was not landed after its interval"
    bridge.stop()
    assert running.join().records == 5
    assert sorted(_landed_lines(zone)[0]) == sorted(f'{{"n": {i}}}' for i in range(5))


def test_unreachable_broker_fails_quickly_and_clearly() -> None:
    port = _free_port()
    delivery = MqttDelivery("127.0.0.1", port, "eventlake/readings", progress=False)
    with pytest.raises(BrokerUnreachableError) as raised:
        delivery.deliver([(datetime(2026, 3, 2, tzinfo=UTC), "{}")])
    message = str(raised.value)
    assert message.startswith(f"cannot reach MQTT broker at 127.0.0.1:{port}: ")
    assert message.endswith("; start mosquitto or pass --broker")

    bridge = MqttToFirehoseBridge(
        LocalFirehoseDelivery(RawZone(Path("/nonexistent")), FEED, STREAM), port=port
    )
    with pytest.raises(BrokerUnreachableError, match=f"127.0.0.1:{port}"):
        bridge.run(max_messages=1)


def test_factory_builds_an_mqtt_delivery_without_connecting() -> None:
    delivery = make_delivery("mqtt", host="broker.local", port=8883, topic="a/b", progress=False)
    assert isinstance(delivery, MqttDelivery)
    assert (delivery.broker, delivery.topic, delivery.qos) == ("broker.local:8883", "a/b", 1)
    delivery.close()  # never connected: nothing to do
    with pytest.raises(ValueError, match="without wildcards"):
        make_delivery("mqtt", topic="sensors/+/temperature")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 1883)),
        ("broker:8883", ("broker", 8883)),
        ("mqtt://localhost:1884", ("localhost", 1884)),
        ("[::1]:1883", ("::1", 1883)),
    ],
)
def test_parse_broker(text: str, expected: tuple[str, int]) -> None:
    assert parse_broker(text) == expected


@pytest.mark.parametrize("text", ["", "host:", "host:port", "host:70000", "[::1]x"])
def test_parse_broker_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="not a broker address"):
        parse_broker(text)


def test_payload_to_line_keeps_one_message_one_valid_utf8_line() -> None:
    assert payload_to_line(b'{"a": 1}') == '{"a": 1}'
    assert payload_to_line(b'{\n  "a": "\xc3\xa9"\r\n}') == '{   "a": "é"  }'
    broken = payload_to_line(b'{"room_id": "A1\xff01"}')
    assert broken == '{"room_id": "A1\\xff01"}'  # not JSON any more: quarantined as invalid_json
    broken.encode("utf-8")
