"""A wall-time budget for a training run: fewer epochs on a slower machine, never a longer run.

``train.max_minutes`` > 0 caps the whole run (reference pre-training included for
``agilenn train``). After every epoch the planner projects the run's end from the last epoch's
duration; when the planned epochs would not fit, it shortens the plan to the epochs that do, and
the learning-rate schedule (warm-up then cosine, :func:`runtime_setup.lr_at`) is re-stretched over
the new total so the run still anneals to zero. Later epochs correct the plan both ways: when a
slow epoch (the first one pays for kernel selection; another job may have shared the cores) made
the cut too deep, the plan grows back, never beyond the requested epochs. A plan keeps at least
the epochs already done, and a finished plan is never re-opened (its schedule has annealed).
A plan grows only by two epochs or more (growth by one is within the projection's noise); it is
cut as soon as it does not fit. The trainers project from :func:`typical_epoch_seconds`, the
median of the last three epochs' durations, so that one slow epoch (a neighbour's burst of work)
does not cut the plan, and re-stretch the schedule, only for the next epoch to grow it back.
"""
from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Sequence

from agilenn_ros.training.run_io import log_record


TYPICAL_EPOCHS = 3


def typical_epoch_seconds(durations: Sequence[float]) -> float:
    """The epoch duration to project with: the median of the last TYPICAL_EPOCHS ``durations``
    (seconds, oldest first; at least one). A lasting slow-down shows after two epochs."""
    if not durations:
        raise ValueError("typical_epoch_seconds needs at least one epoch duration")
    return float(statistics.median(durations[-TYPICAL_EPOCHS:]))


def planned_epochs(planned: int, epochs_done: int, elapsed_s: float, last_epoch_s: float,
                   budget_s: float) -> int:
    """Epochs the run should end with.

    planned: the current plan; epochs_done: epochs finished (>= 1); elapsed_s: seconds since the
    run started (everything counted against the budget); last_epoch_s: duration of the last epoch
    (training and validation); budget_s: the budget in seconds (<= 0: no budget).
    """
    if budget_s <= 0 or epochs_done >= planned:
        return planned
    per_epoch = max(last_epoch_s, 1e-6)
    fit = epochs_done + math.floor(max(0.0, budget_s - elapsed_s) / per_epoch)
    return max(epochs_done, min(planned, fit))


def replan_after_epoch(log_path: Path | None, planned: int, requested: int, epochs_done: int, elapsed_s: float,
                       last_epoch_s: float, max_minutes: float) -> int:
    """The plan after ``epochs_done`` epochs: :func:`planned_epochs` of the ``requested`` epochs for
    ``max_minutes``, unless the current plan is finished, and not one epoch more than the current
    plan (noise). A change is logged as a ``time-budget`` record."""
    if epochs_done >= planned:
        return planned
    new = planned_epochs(requested, epochs_done, elapsed_s, last_epoch_s, max_minutes * 60.0)
    if new == planned + 1:
        # a projection from one epoch's duration moves by +-1 with a few percent of noise: growing
        # by one epoch, only to cut it again next epoch, re-stretched the schedule every few epochs
        new = planned
    if new != planned:
        log_record(log_path, {"stage": "time-budget", "after_epoch": epochs_done, "planned_epochs": planned,
                              "new_planned_epochs": new, "elapsed_seconds": elapsed_s,
                              "max_minutes": max_minutes})
    return new
