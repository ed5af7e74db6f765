"""A sweep's models on one executor: every (configuration, fold, asset) task of every configuration, with the work
that configurations have in common done once.

- Feature frames, matrices and fold layouts: `features.plan.Plans` hands every configuration with the same plan the
  same frame, the same matrix and, for the same fold settings, the same layout (engine.prepare).
- Fits: configurations whose task (fold, asset) trains on the same rows of the same matrix, with parameters the
  model kind says may share preprocessing (`ModelKind.share_key`: for LightGBM, the constructed Dataset's), form one
  *group task* `(trials, fold, symbol)`: its training rows are gathered once and `ModelKind.fit_shared` fits one model
  per configuration on them; each configuration's model then predicts its own test rows. Every model is the one a
  separate run fits, bitwise (tests/test_sweep.py).
- Models: configurations of a group with the same model (kind, estimator, params; the seed and rows are the
  group's) get one fit, and, when they also predict the same rows (the same refit cadence), one result: a sweep over
  strategy keys (thresholds, `k`, costs) fits each model once. A kind without a `share_key` groups exactly such
  configurations.
- Warm-start configurations keep their chains (`(trial,), fold, symbol` in fold order), never grouped: each link
  continues its own configuration's model.

Every task goes to one `run_chains` call on the base config's executor, the costliest first (rows x rounds x
models fitted) so no worker is left with a long task at the end. Each configuration keeps its own checkpoints, saved
as its results arrive, so `--resume` and a Dask worker's death lose no finished task.

A group's fit is measured once: its seconds and CPU are booked to the group's first configuration (a shared result's
prediction to the configuration that made it), its interval (`fit_start`..`fit_end`) to every member (so each
configuration's `fit` busy time is the wall time its models were being fitted, shared or not).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from walkforward.config import seed_for
from walkforward.execution.checkpoints import Checkpoints
from walkforward.execution.fit import resume_chains
from walkforward.execution.job import FitClock, FoldJob
from walkforward.execution.task import Task, TaskResult
from walkforward.models.registry import MODEL_KINDS

GroupTask = tuple[tuple[int, ...], int, str]  # (configurations, fold, symbol)
Payload = dict[int, tuple[TaskResult, bytes | None]]  # per configuration: its result and, warm start, its model


@dataclass(frozen=True)
class SweepJob:
    """The fold jobs of a sweep's configurations (by index); runs a group task for every configuration in it."""

    jobs: dict[int, FoldJob]

    def __call__(self, task: GroupTask, previous: Any) -> tuple[Any, Payload]:
        trials, f, symbol = task
        if len(trials) == 1:
            model, payload = self.jobs[trials[0]]((f, symbol), previous)
            return model, {trials[0]: payload}
        return None, self._shared(trials, f, symbol)

    def _shared(self, trials: tuple[int, ...], f: int, symbol: str) -> Payload:
        first = self.jobs[trials[0]]
        data = first.training(f, symbol)
        if data is None:  # no training row: every configuration of the group does without a model alike
            return {t: self.jobs[t]((f, symbol), None)[1] for t in trials}
        twin = twins(self.jobs, trials)  # configurations whose model is another's: fitted once
        fitting = [t for t in trials if twin[t] == t]
        clock = FitClock.start()
        models = MODEL_KINDS[first.kind].fit_shared(
            [dict(self.jobs[t].params) for t in fitting],
            *data,
            seed=seed_for(first.seed, f, symbol),
            estimator=first.estimator,
        )
        fit = clock.stop()
        booked = [fit] + [_unbooked(fit)] * (len(fitting) - 1)
        model_of = dict(zip(fitting, models, strict=True))
        clock_of = dict(zip(fitting, booked, strict=True))
        out: Payload = {}
        made: dict[tuple[int, int], int] = {}  # (model, refit cadence) -> the configuration that predicted with it
        for t in trials:  # a group's configurations read the same rows: the cadence alone sets the test rows
            same = made.setdefault((twin[t], self.jobs[t].refit_every), t)
            if same == t:
                out[t] = self.jobs[t].predicted(model_of[twin[t]], f, symbol, clock_of.get(t, _unbooked(fit)))
            else:  # the same model on the same test rows: its result, measured once (booked to `same`)
                result, state = out[same]
                out[t] = (replace(result, fit_seconds=0.0, predict_seconds=0.0, cpu_seconds=0.0), state)
        return out

    def for_task(self, task: GroupTask) -> SweepJob:
        """The jobs of the task's configurations cut to the rows it reads (`FoldJob.for_task`); configurations that
        share a matrix, a layout and a refit cadence (which sets the test windows a task predicts, and so its cut)
        share one cut, which a pickle (Dask) then carries once."""
        trials, f, symbol = task
        cuts: dict[int, FoldJob] = {}
        for t in trials:
            job = self.jobs[t]
            twin = next((c for u, c in cuts.items() if _same_test(self.jobs[u], job)), None)
            if twin is None:
                cuts[t] = job.for_task((f, symbol))
            else:
                rows = dict(matrix=twin.matrix, offsets=twin.offsets, traded=twin.traded, member=twin.member)
                cuts[t] = replace(job, **rows, row_index=twin.row_index)
        return SweepJob(cuts)


def _same_rows(a: FoldJob, b: FoldJob) -> bool:
    return a.matrix is b.matrix and a.offsets is b.offsets and a.traded is b.traded and a.member is b.member


def twins(jobs: dict[int, FoldJob], trials: tuple[int, ...]) -> dict[int, int]:
    """Each configuration of a group mapped to the first one with the same model (kind, estimator and params): on
    the group's shared rows and seed, their fits are the same model, so it is fitted once (configurations that
    differ only in their strategy, say)."""
    seen: dict[str, int] = {}
    return {t: seen.setdefault(_model_key(jobs[t]), t) for t in trials}


def _model_key(job: FoldJob) -> str:
    """What a fit depends on besides its rows and seed, as text (params may hold values that do not hash; their
    reprs are equal only for equal values, so equal keys are the same model)."""
    return repr((job.kind, job.estimator, job.params))


def _same_test(a: FoldJob, b: FoldJob) -> bool:
    """A task predicts the same rows for both: the same rows of the same matrix and the same refit cadence."""
    return _same_rows(a, b) and a.refit_every == b.refit_every


def _unbooked(fit: FitClock) -> FitClock:
    """A twin's fit, shared with the configuration it is booked to: its interval, no seconds of its own."""
    return replace(fit, seconds=0.0, cpu=0.0)


@dataclass
class SweepPlan:
    """The group tasks' chains (costliest first), the start model of each continued warm-start chain, and each
    configuration's results already checkpointed."""

    chains: list[list[GroupTask]]
    start_models: dict[int, Any]
    done: dict[int, dict[Task, TaskResult]]


def plan_sweep(
    jobs: dict[int, FoldJob], plans: dict[int, tuple[Any, list, list]], checkpoints: dict[int, Checkpoints]
) -> SweepPlan:
    """Group every configuration's remaining tasks. `plans[t]`: (config, tasks, chains) of configuration t."""
    chains: list[list[GroupTask]] = []
    start_models: dict[int, Any] = {}
    done: dict[int, dict[Task, TaskResult]] = {}
    groups: dict[tuple, list[int]] = {}
    for t, (config, tasks, own) in plans.items():
        done[t], remaining, starts = resume_chains(config, tasks, own, checkpoints[t])
        if config.model.warm_start:
            for i, chain in enumerate(remaining):
                if chain:
                    if i in starts:
                        start_models[len(chains)] = starts[i]
                    chains.append([((t,), f, s) for f, s in chain])
            continue
        for f, s in (task for chain in remaining for task in chain):
            groups.setdefault(_share(jobs[t], f, s), []).append(t)
    for key, members in groups.items():
        chains.append([(tuple(members), key[-2], key[-1])])
    order = sorted(range(len(chains)), key=lambda i: -_cost(jobs, chains[i]))
    return SweepPlan([chains[i] for i in order], {order.index(i): m for i, m in start_models.items()}, done)


def _share(job: FoldJob, f: int, symbol: str) -> tuple:
    """The group key of a configuration's task (f, symbol): the same rows of the same matrix and equal share keys;
    for a kind that shares no preprocessing, the same model (params and seed): such a group fits its model once."""
    seed = seed_for(job.seed, f, symbol)
    key = MODEL_KINDS[job.kind].share_key(dict(job.params), seed, job.estimator)
    rows = (id(job.matrix), id(job.offsets), id(job.traded), id(job.member))
    return (*rows, job.kind, job.estimator, ("same model", repr(job.params), seed) if key is None else key, f, symbol)


def _cost(jobs: dict[int, FoldJob], chain: list[GroupTask]) -> float:
    """A chain's work, roughly: per task, its training window's rows times the rounds of each configuration."""
    total = 0.0
    for trials, f, _ in chain:
        job = jobs[trials[0]]
        a, b = job.offsets.train[f]
        fitted = [t for t, u in twins(jobs, trials).items() if t == u]  # a model fitted once counts once
        total += float(b - a) * sum(float(dict(jobs[t].params).get("n_estimators", 1)) for t in fitted)
    return total


def checkpoint_each(
    checkpoints: dict[int, Checkpoints], progress: Callable[[int], None] | None
) -> Callable[[GroupTask, tuple], None]:
    """`run_chains`' on_done: save each configuration's result in its own checkpoints, count them."""

    def on_done(task: GroupTask, payload: Payload) -> None:
        _, f, symbol = task
        for t, (result, state) in payload.items():
            checkpoints[t].save((f, symbol), result, state)
        if progress is not None:
            progress(len(payload))

    return on_done
