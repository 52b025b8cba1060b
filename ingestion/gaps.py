"""Gaps in a simulated series: the readings or measurements a device never sent."""

from __future__ import annotations

import numpy as np


def gap_mask(
    n_series: int, n_steps: int, fraction: float, max_gap: int, rng: np.random.Generator
) -> np.ndarray:
    """A series x steps mask of steps never sent: gaps of 1 to ``max_gap`` steps at random
    places, covering about ``fraction`` of all steps (overlapping gaps cover a little less)."""
    dropped = np.zeros((n_series, n_steps), dtype=bool)
    n_gaps = round(fraction * n_series * n_steps / ((1 + max_gap) / 2))
    if n_gaps == 0:
        return dropped
    rows = rng.integers(0, n_series, n_gaps)
    starts = rng.integers(0, n_steps, n_gaps)
    lengths = rng.integers(1, max_gap + 1, n_gaps)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    steps = np.repeat(starts, lengths) + within
    keep = steps < n_steps
    dropped[np.repeat(rows, lengths)[keep], steps[keep]] = True
    return dropped
