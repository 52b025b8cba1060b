"""Simulated traffic detectors (the Flemish feed's fields) and their landing in the raw zone."""

from ingestion.traffic.landing import (
    TRAFFIC_FEED,
    TRAFFIC_STREAM,
    TrafficLandingReport,
    land_traffic,
)
from ingestion.traffic.malformed import TRAFFIC_MALFORMED_REASONS
from ingestion.traffic.registry import MeasurementLocation, load_locations
from ingestion.traffic.simulator import (
    TrafficSimulationConfig,
    TrafficSimulationResult,
    simulate_traffic,
)

__all__ = [
    "TRAFFIC_FEED",
    "TRAFFIC_MALFORMED_REASONS",
    "TRAFFIC_STREAM",
    "MeasurementLocation",
    "TrafficLandingReport",
    "TrafficSimulationConfig",
    "TrafficSimulationResult",
    "land_traffic",
    "load_locations",
    "simulate_traffic",
]
