"""Running minimum and mean over a window around each element, in a few whole-array NumPy passes
(van Herk / Gil-Werman for the minimum, a cumulative sum for the mean), so a limiter's gain is computed per
chunk without a Python loop per sample."""

from __future__ import annotations

import numpy as np


def running_min(values: np.ndarray, before: int, after: int, outside: float) -> np.ndarray:
    """``out[i] = min(values[i - before .. i + after])``, with ``outside`` beyond both ends."""
    width = before + after + 1
    padded = np.concatenate([np.full(before, outside), values, np.full(after, outside)]).astype(values.dtype)
    return _sliding_extreme(padded, width, np.minimum, outside)[: len(values)]


def running_mean(values: np.ndarray, half: int) -> np.ndarray:
    """``out[i] = mean(values[i - half .. i + half])``, the end values repeated beyond both ends."""
    padded = np.pad(values.astype(np.float64), half, mode="edge")
    sums = np.concatenate([[0.0], np.cumsum(padded)])
    width = 2 * half + 1
    return (sums[width:] - sums[:-width]) / width


def _sliding_extreme(values: np.ndarray, width: int, pick: np.ufunc, outside: float) -> np.ndarray:
    """``pick`` over every window of ``width`` consecutive values: element ``j`` covers ``values[j .. j + width)``."""
    blocks = -(-len(values) // width)
    padded = np.full(blocks * width + width, outside, dtype=values.dtype)
    padded[: len(values)] = values
    # Accumulating down the first axis of the transposed blocks runs one whole-row operation per step.
    columns = np.ascontiguousarray(padded.reshape(-1, width).T)
    prefix = pick.accumulate(columns, axis=0).T.reshape(-1)
    suffix = pick.accumulate(columns[::-1], axis=0)[::-1].T.reshape(-1)
    count = len(values)
    return pick(suffix[:count], prefix[width - 1 : width - 1 + count])
