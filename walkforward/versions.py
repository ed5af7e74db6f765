"""The versions of the packages a run uses: run.json records them all, a resume manifest those that change results.

Read from the module when it is already imported (fast), else from the installed metadata: reading a version never
imports a heavy module.
"""

from __future__ import annotations

import importlib.metadata
import sys

PACKAGES = ("walkforward", "polars", "numpy", "pandas", "lightgbm", "scikit-learn", "pyarrow")
MODULES = {"scikit-learn": "sklearn"}


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """`{name: version}` for each distribution in `names`; None for one that is not installed."""
    out: dict[str, str | None] = {}
    for name in names:
        module = sys.modules.get(MODULES.get(name, name))
        version = getattr(module, "__version__", None)
        if version is None:
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                version = None
        out[name] = version
    return out
