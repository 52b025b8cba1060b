"""Seismic events: simulated EMSC daily files, an importer for FDSN files, one raw shape."""

from ingestion.seismic.generator import SeismicConfig, SeismicResult, simulate_seismic

__all__ = ["SeismicConfig", "SeismicResult", "simulate_seismic"]
