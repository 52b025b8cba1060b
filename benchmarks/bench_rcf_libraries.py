"""Which Random Cut Forest library the local path uses: krcf vs rcf3 vs rrcf, measured.

Same data (one simulated room, per-minute, with labelled anomalies, shingled to 4 readings),
same forest (50 trees x 512 samples per tree), two modes:
- batch: train on every point, then score every point against the fixed forest (SageMaker's way);
- streaming: score each point, then add it to the forest.
Reported: throughput (points/s), score agreement (Spearman rank correlation, overlap of the top 1%
flagged points) with krcf, next to krcf's agreement with itself under another seed (the noise
floor: two forests never agree exactly), and how many labelled anomaly readings land in the top 1%.
rrcf is pure Python (about 100x slower), so it runs on the first ``--rrcf-points`` points only.

Run it where all three are installed, e.g. a scratch venv:
    uv venv /tmp/rcfvenv
    VIRTUAL_ENV=/tmp/rcfvenv uv pip install krcf rcf3 rrcf numpy "setuptools<81"
    PYTHONPATH=. /tmp/rcfvenv/bin/python benchmarks/bench_rcf_libraries.py
(only krcf is a project dependency; missing libraries are reported and skipped).
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

TREES, SAMPLES, SHINGLE = 50, 512, 4


def simulated_points(days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingled points of one room and a mask of the points whose newest reading is anomalous."""
    from ingestion.sensors import SimulationConfig, simulate

    start = datetime(2026, 1, 5, tzinfo=UTC)
    config = SimulationConfig(
        rooms=["A101"], start=start, end=start + timedelta(days=days), seed=seed, anomalies=True
    )
    result = simulate(config)
    readings = sorted((r["timestamp"], r["temperature"]) for r in map(json.loads, payloads(result)))
    values = np.array([v for _, v in readings], dtype=float)
    times = np.array([t.replace(" ", "T") for t, _ in readings], dtype="datetime64[s]")
    labelled = np.zeros(values.size, dtype=bool)
    for e in result.episodes:
        first = np.datetime64(e.start.replace(tzinfo=None), "s")
        last = np.datetime64(e.end.replace(tzinfo=None), "s")
        labelled |= (times >= first) & (times <= last)
    windows = np.lib.stride_tricks.sliding_window_view(values, SHINGLE)
    return np.ascontiguousarray(windows), labelled[SHINGLE - 1 :]


def payloads(result) -> list[str]:
    return [payload for _, payload in result.records]


def krcf_forest(dim: int, seed: int, decay: float | None):
    import krcf

    options = {
        "dimensions": dim,
        "shingle_size": 1,
        "num_trees": TREES,
        "sample_size": SAMPLES,
        "output_after": 1,
        "random_seed": seed,
    }
    if decay is not None:
        options["lambda"] = decay
    return krcf.RandomCutForest(options)


def rcf3_forest(dim: int, seed: int, decay: float | None):
    import rcf3

    # rcf3 reads time_decay=0 as "automatic" (0.1/capacity): a negligible decay stands for none.
    return rcf3.Forest(
        dim,
        num_trees=TREES,
        capacity=SAMPLES,
        time_decay=1e-12 if decay == 0.0 else 0.0,
        output_after=1,
        seed=seed,
    )


def batch(make: Callable, points: np.ndarray, seed: int) -> tuple[np.ndarray, float, float]:
    forest = make(points.shape[1], seed, 0.0)
    rows = points.tolist()
    started = time.perf_counter()
    for p in rows:
        forest.update(p)
    trained = time.perf_counter()
    scores = np.array([forest.score(p) for p in rows])
    done = time.perf_counter()
    return scores, len(rows) / (trained - started), len(rows) / (done - trained)


def streaming(make: Callable, points: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    forest = make(points.shape[1], seed, None)
    rows = points.tolist()
    scores = np.empty(len(rows))
    started = time.perf_counter()
    for i, p in enumerate(rows):
        scores[i] = forest.score(p)
        forest.update(p)
    return scores, len(rows) / (time.perf_counter() - started)


def rrcf_batch(points: np.ndarray, seed: int) -> tuple[np.ndarray, float, float]:
    import rrcf

    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    trees = [
        rrcf.RCTree(points[rng.choice(len(points), min(SAMPLES, len(points)), replace=False)])
        for _ in range(TREES)
    ]
    trained = time.perf_counter()
    scores = np.zeros(len(points))
    for tree in trees:
        for i, p in enumerate(points):
            tree.insert_point(p, index="q")
            scores[i] += tree.codisp("q") / TREES
            tree.forget_point("q")
    done = time.perf_counter()
    return scores, len(points) / (trained - started), len(points) / (done - trained)


def rrcf_streaming(points: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    import rrcf

    np.random.seed(seed)
    trees = [rrcf.RCTree() for _ in range(TREES)]
    scores = np.zeros(len(points))
    started = time.perf_counter()
    for i, p in enumerate(points):
        for tree in trees:
            if len(tree.leaves) >= SAMPLES:
                tree.forget_point(i - SAMPLES)
            tree.insert_point(p, index=i)
            scores[i] += tree.codisp(i) / TREES
    return scores, len(points) / (time.perf_counter() - started)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def top_overlap(a: np.ndarray, b: np.ndarray, fraction: float = 0.01) -> float:
    k = max(1, int(len(a) * fraction))
    return len(set(np.argsort(a)[-k:]) & set(np.argsort(b)[-k:])) / k


def labelled_in_top(scores: np.ndarray, labelled: np.ndarray, fraction: float = 0.01) -> float:
    k = max(1, int(len(scores) * fraction))
    return float(labelled[np.argsort(scores)[-k:]].mean())


def available(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        print(f"  {name}: not installed, skipped (see the module docstring)")
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--rrcf-points", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    points, labelled = simulated_points(args.days, args.seed)
    print(
        f"{len(points):,} points (1 room, {args.days} days per-minute, shingle {SHINGLE}),"
        f" {TREES} trees x {SAMPLES} samples; {labelled.sum()} labelled anomalous points"
    )
    libraries = {"krcf": krcf_forest, "rcf3": rcf3_forest}
    results: dict[str, dict[str, np.ndarray]] = {}
    print(
        f"\n  {'library':<18} {'train/s':>9} {'score/s':>9} {'stream/s':>9}"
        f" {'rho':>6} {'top1%':>6} {'rho(st)':>7} {'labelled in top1%':>18}"
    )
    reference: dict[str, np.ndarray] = {}
    for name, make in [*libraries.items(), ("krcf (other seed)", krcf_forest)]:
        if not available(name.split()[0]):
            continue
        seed = 99 if "other" in name else 1
        scores, train_rate, score_rate = batch(make, points, seed)
        stream_scores, stream_rate = streaming(make, points, seed)
        if name == "krcf":
            reference = {"batch": scores, "stream": stream_scores}
        results[name] = {"batch": scores, "stream": stream_scores}
        print(
            f"  {name:<18} {train_rate:>9,.0f} {score_rate:>9,.0f} {stream_rate:>9,.0f}"
            f" {spearman(scores, reference['batch']):>6.3f}"
            f" {top_overlap(scores, reference['batch']):>6.0%}"
            f" {spearman(stream_scores, reference['stream']):>7.3f}"
            f" {labelled_in_top(scores, labelled):>18.0%}"
        )
    if available("rrcf") and reference:
        n = min(args.rrcf_points, len(points))
        subset = points[:n]
        scores, train_rate, score_rate = rrcf_batch(subset, 1)
        stream_scores, stream_rate = rrcf_streaming(subset, 1)
        sub_ref = batch(krcf_forest, subset, 1)[0]
        sub_stream = streaming(krcf_forest, subset, 1)[0]
        print(
            f"  {'rrcf (first ' + str(n) + ')':<18} {train_rate:>9,.0f} {score_rate:>9,.0f}"
            f" {stream_rate:>9,.0f} {spearman(scores, sub_ref):>6.3f}"
            f" {top_overlap(scores, sub_ref):>6.0%} {spearman(stream_scores, sub_stream):>7.3f}"
            f" {labelled_in_top(scores, labelled[:n]):>18.0%}"
        )
    print(
        "\nrho / top1%: Spearman correlation and top-1% overlap of batch scores with krcf's"
        " (rho(st): streaming). rrcf is compared with krcf on the same subset."
    )


if __name__ == "__main__":
    main()
