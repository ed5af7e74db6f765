"""Import model libraries without the optional packages they would drag in.

lightgbm's package imports scikit-learn, pandas and dask at import time (for its scikit-learn estimators and
DataFrame inputs), and scikit-learn imports pandas. walkforward hands models numpy arrays only, so it imports them
with those hidden: start-up drops from ~0.9 s to ~0.1 s and the Polars path never loads pandas.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

HIDDEN = {"lightgbm": ("sklearn", "pandas", "dask", "distributed"), "sklearn": ("pandas",)}


def import_hiding(module: str) -> Any:
    """Import `module` while the optional packages its library would pull in are hidden (unless already loaded)."""
    if module in sys.modules:
        return sys.modules[module]
    hidden = [name for name in HIDDEN.get(module.split(".")[0], ()) if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        return importlib.import_module(module)
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
