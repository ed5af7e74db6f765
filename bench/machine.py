"""The machine a bench ran on, for its results JSON: CPU model, cores, memory, OS, Python and package versions."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

from walkforward.config import available_cores
from walkforward.versions import package_versions


def _cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The first `model name` of /proc/cpuinfo (Linux); else what `platform` says, if anything."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gib(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    """MemTotal of /proc/meminfo in GiB (Linux); else from sysconf where it has the names."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 2)  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 2)
    except (AttributeError, ValueError, OSError):
        return None


def machine_info() -> dict[str, Any]:
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cores_available": available_cores(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "platform": sys.platform,
        "python": platform.python_version(),
        "packages": package_versions(),
    }
