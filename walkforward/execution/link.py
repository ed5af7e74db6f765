"""A link: one task of a chain, run on whatever worker holds the job. The one function every executor calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Job(Protocol):
    """Fits and predicts one task; `previous` is the chain's previous model (None first)."""

    def __call__(self, task: Any, previous: Any) -> tuple[Any, Any]: ...


class TaskFailed(RuntimeError):
    """A fold task raised; `task` names it and `__cause__` is the original error."""

    def __init__(self, task: Any, error: BaseException):
        super().__init__(f"{type(error).__name__}: {error}")
        self.task, self.error = task, error


def run_link(job: Job, task: Any, carry: Sequence[Any], keep_model: bool) -> tuple[Any, Any]:
    """Run one task of a chain on whatever worker holds `job`; return (model or None, result).

    `carry[0]` is the chain's previous model (None first; a resumed chain's start model). The model comes back only
    when the chain continues (`keep_model`), so a task without a successor ships its result alone.
    """
    model, result = job(task, carry[0])
    return (model if keep_model else None), result
