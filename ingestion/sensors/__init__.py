"""Simulated temperature sensors: realistic readings, labelled anomalies and malformed records."""

from ingestion.sensors.anomalies import ANOMALY_TYPES, AnomalyEpisode, write_ground_truth
from ingestion.sensors.malformed import MALFORMED_REASONS
from ingestion.sensors.simulator import (
    ArrivalOrderedRecords,
    SimulationConfig,
    SimulationResult,
    load_room_ids,
    simulate,
    simulate_temperatures,
)

__all__ = [
    "ANOMALY_TYPES",
    "MALFORMED_REASONS",
    "AnomalyEpisode",
    "ArrivalOrderedRecords",
    "SimulationConfig",
    "SimulationResult",
    "load_room_ids",
    "simulate",
    "simulate_temperatures",
    "write_ground_truth",
]
