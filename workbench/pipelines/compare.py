"""The model-against-baseline table every pipeline reports: one row per model, its score, and the score relative to
the baseline trained on the same split.

:func:`compare_models` is used by :func:`~workbench.pipelines.qm9.run_qm9` (score: test MAE, lower is better),
:func:`~workbench.pipelines.shapes.run_shapes` (accuracy on rotated + reflected test shapes) and
:func:`~workbench.pipelines.jets.run_jets` (AUC on boosted test jets); each writes the table as ``comparison.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["COMPARISON_COLUMNS", "compare_models"]

#: The columns :func:`compare_models` adds after ``model``, the score and the copied ``columns``.
COMPARISON_COLUMNS: tuple[str, ...] = ("baseline", "ratio_to_baseline", "difference_to_baseline", "beats_baseline",
                                       "rank")


def compare_models(metrics: Mapping[str, Mapping[str, Any]], score: str, baseline: str = "",
                   higher_is_better: bool = False, columns: Sequence[str] = ("parameters", "train_seconds")
                   ) -> pd.DataFrame:
    """One row per model of ``metrics`` (model name -> its metrics, in that order) comparing ``score`` with the
    ``baseline`` model's.

    Columns: ``model``, ``score`` (the metric's own name), each of ``columns`` that a model's metrics hold (else
    missing), then ``baseline`` (its name, or None), ``ratio_to_baseline`` (score / baseline score),
    ``difference_to_baseline`` (score - baseline score), ``beats_baseline`` (strictly better than the baseline in
    the direction ``higher_is_better``; None for the baseline itself) and ``rank`` (1 = best score; ties share the
    best rank). With ``baseline=""`` or a baseline not in ``metrics``, the three baseline columns are None.
    A ratio to a zero baseline score is ``inf`` (or NaN for 0/0).

    Raises:
        ValueError: ``metrics`` is empty, ``score`` is not a finite number in every model's metrics, or
            ``baseline`` names no model and is not empty.

    Examples:
        >>> table = compare_models({"nequip": {"test_mae": 0.2}, "schnet": {"test_mae": 0.25}}, "test_mae", "schnet")
        >>> table[["model", "test_mae", "ratio_to_baseline", "beats_baseline", "rank"]].to_dict("records")[0]
        {'model': 'nequip', 'test_mae': 0.2, 'ratio_to_baseline': 0.8, 'beats_baseline': True, 'rank': 1}
    """
    if not metrics:
        raise ValueError("metrics must map at least one model name to its metrics, got an empty mapping")
    if baseline and baseline not in metrics:
        raise ValueError(f"baseline {baseline!r} is not among the compared models {list(metrics)}")
    scores = {}
    for name, values in metrics.items():
        value = values.get(score)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"score {score!r} must be a finite number in the metrics of every model; "
                             f"{name!r} has {value!r}")
        scores[name] = float(value)
    reference = scores.get(baseline) if baseline else None
    rows = []
    for name, values in metrics.items():
        row: dict[str, Any] = {"model": name, score: scores[name]}
        row.update({c: values.get(c) for c in columns})
        ratio = difference = beats = None
        if reference is not None:
            difference = scores[name] - reference
            ratio = scores[name] / reference if reference != 0 else (math.nan if scores[name] == 0 else math.inf)
            if name != baseline:
                beats = bool(difference > 0) if higher_is_better else bool(difference < 0)
        row.update({"baseline": baseline if reference is not None else None, "ratio_to_baseline": ratio,
                    "difference_to_baseline": difference, "beats_baseline": beats})
        rows.append(row)
    table = pd.DataFrame(rows)
    table["rank"] = table[score].rank(method="min", ascending=not higher_is_better).astype(int)
    return table
