"""Anomaly detection with Random Cut Forest (SageMaker and local): its own issue builds it here.

It trains on and scores `fct_room_temperature_series` (one model keyed by room) and scores
against the simulator's labelled anomalies under `lake/labels/sensor_anomalies/`.
"""
