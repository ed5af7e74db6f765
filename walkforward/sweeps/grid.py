"""A sweep's grid: config keys (dotted paths reach into sections: `model.params.num_leaves`) mapped to lists of
values, or a list of such grids (scikit-learn's `ParameterGrid` form: keys that only go together, such as
`strategy.k` with `strategy.kind: topk`, in a grid of their own). The trials are the grids' products one after
another, or a seeded random sample of them without replacement; each has a short stable id and its validated config.

The grid only builds configs; running them is `walkforward.sweeps.run`'s.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from walkforward.config import Config
from walkforward.config.run import read_json
from walkforward.errors import ConfigError

# keys the sweep sets itself, or that only change where and how a run executes, never its results
NOT_SWEPT = ("output_dir", "data_dir", "n_jobs", "executor", "scheduler")


@dataclass(frozen=True)
class Trial:
    """One configuration of the sweep: its id (`<index in the grid>-<hash of its values>`), the grid values it
    sets, and the base config with them (output_dir not yet set)."""

    id: str
    params: dict[str, Any]
    config: Config


Grid = dict[str, list[Any]]


def read_grid(path: str | os.PathLike[str]) -> list[Grid]:
    """A grid JSON file: an object of config keys to non-empty lists of values, or a list of such objects."""
    raw = read_json(Path(path), "grid file", "pass --grid with a JSON file of config keys to lists of values")
    return check_grid(raw)


def check_grid(raw: Any) -> list[Grid]:
    """The grids' shape: a non-empty object of keys to non-empty lists of distinct values, or a non-empty list of
    them (values are checked by `trials`). Always returns the list."""
    if isinstance(raw, list | tuple):
        if not raw:
            raise ConfigError('a list of grids needs at least one grid, like [{"fold_length": [126, 252]}]')
        return [_check_one(g, f"grid {i + 1} of the list: ") for i, g in enumerate(raw)]
    return [_check_one(raw, "")]


def _check_one(raw: Any, where: str) -> Grid:
    if not isinstance(raw, dict) or not raw:
        example = '{"fold_length": [126, 252]}' + ("" if where else " (or a list of them)")
        raise ConfigError(f"{where}a grid must be a non-empty JSON object like {example}, got {raw!r}")
    for key, values in raw.items():
        if key in NOT_SWEPT:
            raise ConfigError(
                f"{where}grid key {key!r} cannot be swept: it sets where or how a run executes, not its results"
            )
        if not isinstance(values, list | tuple) or not values:
            raise ConfigError(f"{where}grid key {key!r} needs a non-empty list of values, got {values!r}")
        seen: set[str] = set()
        for value in values:
            if _canonical(value) in seen:
                raise ConfigError(
                    f"{where}grid key {key!r} lists {_canonical(value)} twice; list each value once (a repeated "
                    "configuration would count twice in the DSR's number of trials)"
                )
            seen.add(_canonical(value))
    return {str(k): list(v) for k, v in raw.items()}


def trials(base: Config, grid: Grid | list[Grid], sample: int | None = None, seed: int = 0) -> list[Trial]:
    """Every configuration of the grid (its product, in the grid's key order, the last key varying fastest; for a
    list of grids, each grid's product in list order), or `sample` of them drawn without replacement by
    `random.Random(seed)`, in grid order; each validated. The same values from two grids of a list are refused."""
    grids = check_grid(grid)
    for g in grids:  # an unknown key fails here, naming it once, before any trial is built
        for key, values in g.items():
            _known(base, key, values[0])
    combos = [dict(zip(g, c, strict=True)) for g in grids for c in itertools.product(*g.values())]
    _no_repeats(combos)
    chosen = range(len(combos))
    if sample is not None:
        if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
            raise ConfigError(f"--sample must be an integer >= 1, got {sample!r}")
        if sample > len(combos):
            raise ConfigError(f"--sample {sample} is more than the grid's {len(combos)} configurations; lower it")
        chosen = sorted(random.Random(seed).sample(range(len(combos)), sample))
    width = len(str(len(combos) - 1))
    out = []
    for i in chosen:
        params = combos[i]
        trial_id = f"{i:0{width}d}-{_digest(params)}"
        out.append(Trial(trial_id, params, _config(base, params, f"configuration {trial_id} {_show(params)}")))
    return out


def _no_repeats(combos: list[dict[str, Any]]) -> None:
    """Refuse two configurations of a list of grids that set the same keys to the same values."""
    first: dict[str, int] = {}
    for i, params in enumerate(combos):
        j = first.setdefault(_canonical(params), i)
        if j != i:
            raise ConfigError(
                f"the grids give configuration {_show(params)} twice (numbers {j} and {i} of their products); "
                "remove it from one grid (a repeated configuration would count twice in the DSR's number of trials)"
            )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _known(base: Config, key: str, value: Any) -> None:
    """Refuse an unknown key (with the config's "did you mean"); a value that needs another grid key (`strategy.kind`
    "topk" needs `strategy.k`) is left for the trials' own check."""
    try:
        _config(base, {key: value}, f"grid key {key!r}")
    except ConfigError as exc:
        if "unknown" in str(exc):
            raise


def _config(base: Config, params: dict[str, Any], what: str) -> Config:
    """`base` with `params` set (a null value too, unlike `Config.replace`, which skips None)."""
    raw = base.to_dict()
    for key, value in params.items():
        *parents, leaf = key.split(".")
        node = raw
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{what}: {p!r} in {key!r} is not a section; name a key like 'model.params.x'")
        node[leaf] = value
    try:
        return Config.from_dict(raw)
    except ConfigError as exc:
        raise ConfigError(f"{what}: {exc}") from None


def _digest(params: dict[str, Any]) -> str:
    """6 hex digits of the values' canonical JSON: the same values give the same id in any grid order."""
    text = _canonical(params)
    return hashlib.sha1(text.encode()).hexdigest()[:6]


def _show(params: dict[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in params.items()) + ")"
