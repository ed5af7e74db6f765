"""Stable sorts of small integer codes (symbols, folds, dates as codes), shared by the backtest and the metrics."""

from __future__ import annotations

import numpy as np


def small_ints(codes: np.ndarray) -> np.ndarray:
    """Non-negative integer codes as int16 when they fit: numpy's stable sort of 16-bit integers is a radix sort,
    ~7x faster than its merge sort of int64 at a million rows, and gives the same order."""
    if len(codes) and codes.min() >= 0 and codes.max() < 2**15:
        return codes.astype(np.int16)
    return codes


def stable_order(codes: np.ndarray) -> np.ndarray:
    """The stable argsort of non-negative integer `codes` (rows of equal code keep their order), by radix sort when
    they fit in 16 bits."""
    return np.argsort(small_ints(codes), kind="stable")
