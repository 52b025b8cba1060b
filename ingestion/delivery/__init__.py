"""Delivery of sensor records: to a local Firehose-style raw zone, to Firehose, via IoT Core or
to an MQTT broker."""

from ingestion.delivery.base import Delivery, DeliveryError, DeliveryReport, RetryPolicy
from ingestion.delivery.factory import DELIVERY_KINDS, make_delivery
from ingestion.delivery.firehose import FirehoseDelivery, FirehoseDeliveryError
from ingestion.delivery.iot import IotCoreDelivery
from ingestion.delivery.local import LocalFirehoseDelivery
from ingestion.delivery.mqtt import BrokerUnreachableError, MqttDelivery

__all__ = [
    "DELIVERY_KINDS",
    "BrokerUnreachableError",
    "Delivery",
    "DeliveryError",
    "DeliveryReport",
    "FirehoseDelivery",
    "FirehoseDeliveryError",
    "IotCoreDelivery",
    "LocalFirehoseDelivery",
    "MqttDelivery",
    "RetryPolicy",
    "make_delivery",
]
