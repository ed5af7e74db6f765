"""Import LightGBM without the optional integrations it loads on import, in the `wf` process only.

`import lightgbm` imports scikit-learn (and with it SciPy's statistics), pandas and Dask when they are installed,
for its scikit-learn estimators, pandas inputs and Dask training. A `wf run` with `model.kind: lightgbm` uses none
of them: it calls `lightgbm.train` and `Booster.predict` on numpy arrays. Measured on the 2-core machine: 1.06 s to
import LightGBM with them, 0.20 s without. So the CLI (a process of its own, never the user's notebook: the library
itself imports LightGBM as a user would) imports it while those three are reported missing, then removes the
blocker. Predictions do not change: the booster never reads them (tests/test_lean_import.py checks a run bitwise).
Later imports of scikit-learn, pandas or Dask in the process work as usual; only LightGBM's own wrappers around them
stay off in this process.
"""

from __future__ import annotations

import importlib.abc
import sys
from typing import Any

OPTIONAL = ("sklearn", "pandas", "dask")  # what lightgbm.compat imports if it can, and a `wf run` never needs


class _Missing(importlib.abc.MetaPathFinder):
    """Reports the OPTIONAL packages missing (raising ImportError, as an absent package would)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:  # noqa: ARG002
        if name.partition(".")[0] in OPTIONAL:
            raise ImportError(f"{name} is left out of LightGBM's import by wf", name=name)


def wants_lean_lightgbm(config: Any) -> bool:
    """True for a run that fits LightGBM through its own API in this process (threads or processes executor;
    Dask needs LightGBM's Dask-aware import order, and `model.kind: sklearn` may name LightGBM's estimators)."""
    return config.engine == "polars" and config.model.kind == "lightgbm" and config.executor != "dask"


def import_lightgbm_lean() -> None:
    """Import LightGBM with scikit-learn, pandas and Dask reported missing; no-op if any of the four is loaded."""
    if any(name in sys.modules for name in ("lightgbm", *OPTIONAL)):
        return  # LightGBM is in already, or one of its integrations is and it would be inconsistent to hide it
    blocker = _Missing()
    sys.meta_path.insert(0, blocker)
    try:
        import lightgbm  # noqa: F401
    finally:
        sys.meta_path.remove(blocker)
