"""walkforward: a walk-forward machine-learning backtester for a multi-asset universe.

`walkforward.run(...)`, `walkforward.RunResult.load(run_dir)` and `walkforward.bench(...)` (walkforward/api.py), and
`walkforward.sweep(...)` with its `SweepResult` (walkforward/sweeps/run.py) are the Python API; they are imported on
first use, so `import walkforward` stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["RunResult", "SweepResult", "bench", "run", "sweep"]
_SWEEPS = ("SweepResult", "sweep")


def __getattr__(name: str) -> Any:
    if name in _SWEEPS:
        from walkforward.sweeps import run as sweeps

        return getattr(sweeps, name)
    if name in __all__:
        from walkforward import api

        return getattr(api, name)
    raise AttributeError(f"module 'walkforward' has no attribute {name!r}")
