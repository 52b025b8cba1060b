"""The embedded Random Cut Forest: krcf, the PyO3 binding of AWS's own RCF library.

It is used the way SageMaker's built-in algorithm works (batch): every tree keeps a uniform sample
of ``num_samples_per_tree`` training points (reservoir sampling without time decay, ``lambda=0``),
then points are scored against the fixed forest. Why krcf and not rcf3 or rrcf:
``benchmarks/bench_rcf_libraries.py`` and the README.
"""

from __future__ import annotations

import numpy as np
from krcf import RandomCutForest

from ml.config import RcfConfig


def new_forest(feature_dim: int, config: RcfConfig) -> RandomCutForest:
    return RandomCutForest(
        {
            "dimensions": feature_dim,
            "shingle_size": 1,  # shingles are built by ml.features, so both engines see the same
            "num_trees": config.num_trees,
            "sample_size": config.num_samples_per_tree,
            "output_after": 1,
            "random_seed": config.seed,
            "lambda": 0.0,  # uniform sample of the whole training set, as SageMaker trains
        }
    )


def train_forest(features: np.ndarray, config: RcfConfig) -> RandomCutForest:
    """A forest over ``features`` (points x feature_dim); refuses too little data to mean much."""
    if features.ndim != 2 or features.shape[0] == 0:
        raise ValueError("no training points: the room has fewer readings than the shingle size")
    if not np.isfinite(features).all():
        raise ValueError("training points must be finite numbers; fix the series upstream")
    forest = new_forest(features.shape[1], config)
    for point in features:
        forest.update(point)
    return forest


def score_points(forest: RandomCutForest, features: np.ndarray) -> np.ndarray:
    """Anomaly score of every point against a fixed forest (higher is more anomalous)."""
    if features.shape[0] and features.shape[1] != forest.dimensions():
        raise ValueError(
            f"points have {features.shape[1]} features but the forest was trained on "
            f"{forest.dimensions()}; score with the shingle size it was trained with"
        )
    return np.fromiter((forest.score(p) for p in features), dtype=np.float64, count=len(features))


def score_streaming(features: np.ndarray, config: RcfConfig) -> np.ndarray:
    """Score each point, then add it to the forest: the online mode (no separate training)."""
    forest = new_forest(features.shape[1], config)
    scores = np.empty(features.shape[0])
    for i, point in enumerate(features):
        scores[i] = forest.score(point)
        forest.update(point)
    return scores


def threshold_from_scores(scores: np.ndarray, config: RcfConfig) -> float:
    """Mean + k standard deviations of the training scores, or their configured quantile."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        raise ValueError("no training scores to set a threshold from")
    if config.threshold_quantile is not None:
        return float(np.quantile(scores, config.threshold_quantile))
    return float(scores.mean() + config.threshold_sigmas * scores.std())


def save_forest(forest: RandomCutForest) -> bytes:
    return forest.to_msgpack()


def load_forest(data: bytes) -> RandomCutForest:
    return RandomCutForest.from_msgpack(data)
