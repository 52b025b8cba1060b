"""Pick a delivery path by name, so the CLI and the pipeline take it from configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingestion.delivery.base import Delivery
from ingestion.delivery.firehose import FirehoseDelivery
from ingestion.delivery.iot import IotCoreDelivery
from ingestion.delivery.local import LocalFirehoseDelivery
from ingestion.delivery.mqtt import MqttDelivery
from ingestion.raw_zone import RawZone

DELIVERY_KINDS = ("local", "firehose", "iot", "mqtt")


def make_delivery(kind: str, **options: Any) -> Delivery:
    """Build a delivery of ``kind`` ("local", "firehose", "iot" or "mqtt").

    Options are the chosen class's arguments. ``local`` also accepts ``raw_zone`` as a path;
    ``firehose`` and ``iot`` create a boto3 client when none is given (``region_name`` and, for
    iot, the account's ``endpoint_url`` are passed to it). ``mqtt`` takes ``host``, ``port``,
    ``topic`` and the TLS paths, and connects on its first delivery.
    """
    if kind == "local":
        zone = options.pop("raw_zone")
        if not isinstance(zone, RawZone):
            zone = RawZone(Path(zone))
        return LocalFirehoseDelivery(zone, **options)
    if kind == "firehose":
        client = options.pop("client", None) or _client("firehose", options)
        return FirehoseDelivery(client, **options)
    if kind == "iot":
        client = options.pop("client", None) or _client("iot-data", options)
        return IotCoreDelivery(client, **options)
    if kind == "mqtt":
        return MqttDelivery(**options)
    raise ValueError(f"unknown delivery kind {kind!r}; choose one of: {', '.join(DELIVERY_KINDS)}")


def _client(service: str, options: dict[str, Any]) -> Any:
    import boto3  # imported lazily: local delivery must not pay for it

    kwargs = {k: options.pop(k) for k in ("region_name", "endpoint_url") if k in options}
    return boto3.client(service, **kwargs)
