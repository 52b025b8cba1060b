"""Delivery of sensor records: to a local Firehose-style raw zone, to Firehose, or via IoT Core."""

from ingestion.delivery.base import Delivery, DeliveryError, DeliveryReport, RetryPolicy
from ingestion.delivery.factory import DELIVERY_KINDS, make_delivery
from ingestion.delivery.firehose import FirehoseDelivery, FirehoseDeliveryError
from ingestion.delivery.iot import IotCoreDelivery
from ingestion.delivery.local import LocalFirehoseDelivery

__all__ = [
    "DELIVERY_KINDS",
    "Delivery",
    "DeliveryError",
    "DeliveryReport",
    "FirehoseDelivery",
    "FirehoseDeliveryError",
    "IotCoreDelivery",
    "LocalFirehoseDelivery",
    "RetryPolicy",
    "make_delivery",
]
