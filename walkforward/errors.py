"""Errors a person can act on: one line that names the value, the constraint and the fix."""

from __future__ import annotations

import difflib


class WalkforwardError(ValueError):
    """A problem with the user's input (config, data, flags). The CLI prints it as one line, exit 2."""


class ConfigError(WalkforwardError):
    """The configuration is invalid."""


class DataError(WalkforwardError):
    """The input data is missing, malformed or too short."""


class DataWarning(UserWarning):
    """Input data that is usable but suspect (unsorted rows, a long gap). The CLI prints each as one line."""


class FoldFailed(RuntimeError):
    """A fold's model raised; the message names the fold's dates and assets. Finished folds are checkpointed."""


def did_you_mean(name: str, known: list[str] | tuple[str, ...]) -> str:
    """Return ' Did you mean: X?' for the closest known name, or '' when nothing is close."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    return f" Did you mean: {match[0]!r}?" if match else ""
