"""Local Random Cut Forest speed: scoring throughput, and a year of per-minute readings x 20 rooms.

Uses the project's own path (ml.features shingling, ml.local_rcf training and scoring: krcf,
50 trees x 512 samples per tree, batch as SageMaker). Prints:
1. scoring throughput (readings/s) against a trained forest, without and with shingling;
2. training + scoring one forest per room for ``--rooms`` rooms x ``--days`` days per-minute,
   split into simulate, shingle, train, score, with readings/s for each.

    .venv/bin/python benchmarks/bench_rcf_performance.py [--rooms 20] [--days 365] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np

from ingestion.sensors import SimulationConfig, simulate
from ml.config import RcfConfig
from ml.features import shingle
from ml.local_rcf import score_points, threshold_from_scores, train_forest

START = datetime(2025, 1, 1, tzinfo=UTC)


def room_values(room: str, days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    result = simulate(
        SimulationConfig(
            rooms=[room],
            start=START,
            end=START + timedelta(days=days),
            seed=seed,
            anomalies=True,
            dropout_fraction=0.005,
        )
    )
    readings = sorted(
        (r["timestamp"], r["temperature"]) for r in map(json.loads, _payloads(result))
    )
    at = np.array([t.replace(" ", "T") for t, _ in readings], dtype="datetime64[s]")
    gaps = np.empty(at.size)
    gaps[0] = np.nan
    gaps[1:] = (at[1:] - at[:-1]).astype(np.float64)
    return np.array([v for _, v in readings], dtype=float), gaps


def _payloads(result) -> list[str]:
    return [payload for _, payload in result.records]


def one_room(task: tuple[int, int, int]) -> dict[str, float]:
    index, days, shingle_size = task
    config = RcfConfig(shingle_size=shingle_size)
    t0 = time.perf_counter()
    values, gaps = room_values(f"R{index:03d}", days, seed=index)
    t1 = time.perf_counter()
    features, _ = shingle(values, gaps, config.shingle_size, config.max_gap_seconds)
    t2 = time.perf_counter()
    forest = train_forest(features, config)
    t3 = time.perf_counter()
    scores = score_points(forest, features)
    flags = scores > threshold_from_scores(scores, config)
    t4 = time.perf_counter()
    return {
        "readings": float(values.size),
        "points": float(len(features)),
        "flagged": float(flags.sum()),
        "simulate": t1 - t0,
        "shingle": t2 - t1,
        "train": t3 - t2,
        "score": t4 - t3,
    }


def scoring_throughput(n: int, shingle_size: int) -> float:
    rng = np.random.default_rng(0)
    values = 21 + 2 * np.cos(np.arange(n) * 2 * np.pi / 1_440) + rng.normal(0, 0.1, n)
    gaps = np.full(n, 60.0)
    features, _ = shingle(values, gaps, shingle_size, 900)
    config = RcfConfig(shingle_size=shingle_size)
    forest = train_forest(features[:20_000], config)
    started = time.perf_counter()
    score_points(forest, features)
    return len(features) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--workers", type=int, default=1, help="rooms trained in parallel")
    parser.add_argument("--shingle-size", type=int, default=RcfConfig().shingle_size)
    args = parser.parse_args()

    print("Scoring throughput, 50 trees x 512 samples (200,000 readings, forest fixed):")
    for size in (1, args.shingle_size):
        print(f"  shingle {size}: {scoring_throughput(200_000, size):,.0f} readings/s")

    print(
        f"\n{args.rooms} rooms x {args.days} days per-minute, one forest per room,"
        f" shingle {args.shingle_size}, {args.workers} worker(s):"
    )
    tasks = [(i, args.days, args.shingle_size) for i in range(args.rooms)]
    started = time.perf_counter()
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            rooms = list(pool.map(one_room, tasks))
    else:
        rooms = [one_room(task) for task in tasks]
    wall = time.perf_counter() - started
    total = {key: sum(r[key] for r in rooms) for key in rooms[0]}
    print(f"  readings {total['readings']:,.0f}, scored points {total['points']:,.0f}")
    for step in ("simulate", "shingle", "train", "score"):
        print(
            f"  {step:<9} {total[step]:>7.1f} s (cpu, summed over rooms)"
            f"  {total['points'] / total[step]:>11,.0f} points/s"
        )
    ml = total["train"] + total["score"]
    print(f"  train + score: {ml:.1f} s, {total['points'] / ml:,.0f} points/s")
    print(f"  wall time incl. simulation: {wall:.1f} s; flagged {total['flagged']:,.0f} points")


if __name__ == "__main__":
    main()
