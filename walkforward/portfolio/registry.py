"""The portfolio kinds a config may name (`strategy.kind`): name -> `positions(prediction, next_ret, strategy)`,
the signed position of every test row (int8). A new kind is one function in its own file and one entry here; config
validation and "did you mean" read this registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from walkforward.portfolio import threshold

PORTFOLIOS: dict[str, Callable[[np.ndarray, np.ndarray, Any], np.ndarray]] = {"threshold": threshold.positions}
