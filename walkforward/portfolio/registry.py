"""The portfolio kinds a config may name (`strategy.kind`): name -> `signals(prediction, strategy)`, the signal
`s_t` of every test row (int8: +1, -1 or 0; 0 where there is no prediction). Lag, weights and the book are the
backtest's (methodology §4.2-§4.5), the same for every kind. A new kind is one function in its own file and one
entry here; config validation and "did you mean" read this registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from walkforward.portfolio import threshold

PORTFOLIOS: dict[str, Callable[[np.ndarray, Any], np.ndarray]] = {"threshold": threshold.signals}
