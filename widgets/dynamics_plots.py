"""Plotly figures of the action-angle pipeline (``notebooks/pipelines/action_angle.ipynb``), drawn from the tables
:func:`workbench.pipelines.action_angle.run_action_angle` writes (``errors.csv``, ``timing.csv``, ``rollout.csv``,
``frequencies.csv``) or the same tables in memory, and a phase-space explorer with a slider over the jump.
Each function returns a :class:`plotly.graph_objects.Figure` and computes nothing it does not draw."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from workbench.dynamics import ActionAngleNetwork, DynamicsDataset

__all__ = ["conservation_figure", "frequencies_figure", "jump_error_figure", "phase_space_figure",
           "prediction_time_figure"]


def _require(frame: pd.DataFrame, argument: str, columns: Sequence[str]) -> None:
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise ValueError(f"{argument} must be a non-empty pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{argument} lacks column(s) {missing}; it has {list(frame.columns)}")


def _per_model_lines(frame: pd.DataFrame, x: str, y: str, title: str, x_title: str, y_title: str,
                     log_x: bool = True, log_y: bool = True) -> go.Figure:
    fig = go.Figure()
    for name, rows in frame.groupby("model", sort=False):
        fig.add_trace(go.Scatter(x=rows[x], y=rows[y], mode="lines+markers", name=str(name)))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, template="plotly_white")
    if log_x:
        fig.update_xaxes(type="log")
    if log_y:
        fig.update_yaxes(type="log", exponentformat="power")
    return fig


def jump_error_figure(errors: pd.DataFrame, title: str = "Test error against the time jump") -> go.Figure:
    """Test MSE against the jump (log-log), one line per model (``errors.csv``: ``model, jump, mse``)."""
    _require(errors, "errors", ("model", "jump", "mse"))
    return _per_model_lines(errors, "jump", "mse", title, "jump [steps of dt]", "test MSE of the state")


def prediction_time_figure(timing: pd.DataFrame, title: str = "Cost of one prediction against the jump"
                           ) -> go.Figure:
    """Seconds per predicted state against the jump (``timing.csv``: ``model, jump, seconds_per_prediction``)."""
    _require(timing, "timing", ("model", "jump", "seconds_per_prediction"))
    return _per_model_lines(timing, "jump", "seconds_per_prediction", title, "jump [steps of dt]",
                            "seconds per prediction")


def conservation_figure(rollout: pd.DataFrame, title: str = "Conservation over a long roll-out of one-step "
                        "predictions") -> go.Figure:
    """Relative energy drift of the predicted states per roll-out step, one line per model, and the Action-Angle
    Network's learned-action drift (``rollout.csv``: ``model, step, energy_drift, action_drift``)."""
    _require(rollout, "rollout", ("model", "step", "energy_drift", "action_drift"))
    fig = _per_model_lines(rollout, "step", "energy_drift", title, "roll-out step", "mean relative drift",
                           log_x=False)
    actions = rollout.dropna(subset=["action_drift"])
    for name, rows in actions.groupby("model", sort=False):
        fig.add_trace(go.Scatter(x=rows["step"], y=rows["action_drift"].clip(lower=1e-17), mode="lines",
                                 line={"dash": "dot"}, name=f"{name}: learned actions"))
    return fig


def frequencies_figure(frequencies: pd.DataFrame, title: str = "Learned frequencies beside the analytic ones"
                       ) -> go.Figure:
    """Learned (mean and std over the test states) and analytic angle frequencies per degree of freedom
    (``frequencies.csv``: ``dof, learned_mean, learned_std, analytic_mean, relative_error``)."""
    _require(frequencies, "frequencies", ("dof", "learned_mean", "learned_std", "analytic_mean", "relative_error"))
    labels = [f"dof {d}" for d in frequencies["dof"]]
    fig = go.Figure([
        go.Bar(x=labels, y=frequencies["analytic_mean"], name="analytic"),
        go.Bar(x=labels, y=frequencies["learned_mean"], name="learned",
               error_y={"type": "data", "array": frequencies["learned_std"]},
               text=[f"{100 * e:.2f}%" for e in frequencies["relative_error"]], textposition="outside"),
    ])
    fig.update_layout(title=title, barmode="group", yaxis_title="frequency [rad / unit time]",
                      template="plotly_white")
    return fig


@torch.no_grad()
def phase_space_figure(data: DynamicsDataset, models: Mapping[str, torch.nn.Module], jumps: Sequence[int],
                       trajectory: int = 0, dof: int = 0, n_starts: int = 200,
                       title: str = "Phase space: true against predicted") -> go.Figure:
    """True and predicted test states in the ``(q, p)`` plane of degree of freedom ``dof``, and, for an
    :class:`~workbench.dynamics.ActionAngleNetwork` among ``models``, in its learned ``(angle, action)`` plane;
    a slider over ``jumps`` shows the predictions made that many steps ahead from the first ``n_starts`` test
    states of trajectory ``trajectory``.

    Raises:
        ValueError: ``models`` empty, an index out of range, or jumps that do not fit the test section.
    """
    if not models:
        raise ValueError("models must map at least one name to a trained model")
    start, stop = data.sections["test"]
    n_dof = data.system.n_dof
    if not 0 <= trajectory < data.states.shape[0] or not 0 <= dof < n_dof:
        raise ValueError(f"trajectory must be in [0, {data.states.shape[0]}) and dof in [0, {n_dof}), "
                         f"got {trajectory}, {dof}")
    jumps = [int(j) for j in jumps]
    if not jumps or min(jumps) < 1 or max(jumps) + 1 >= stop - start:
        raise ValueError(f"jumps must be positive integers < {stop - start - 1}, got {jumps}")
    aa = next((m for m in models.values() if isinstance(m, ActionAngleNetwork)), None)
    fig = make_subplots(rows=1, cols=2 if aa is not None else 1,
                        subplot_titles=["(q, p)"] + (["learned (angle, action)"] if aa is not None else []))
    states = data.states[trajectory, start:stop]
    count = min(n_starts, len(states) - max(jumps))
    traces_per_jump = 0
    for k, j in enumerate(jumps):
        x0, truth = states[:count], states[j : j + count]
        jump = torch.full((count,), float(j), dtype=states.dtype)
        traces = [go.Scatter(x=truth[:, dof], y=truth[:, n_dof + dof], mode="markers", name="true",
                             marker={"color": "black", "size": 5}, visible=k == 0)]
        for name, model in models.items():
            model.eval()
            pred = model(x0, jump)
            traces.append(go.Scatter(x=pred[:, dof], y=pred[:, n_dof + dof], mode="markers", name=name,
                                     marker={"size": 4}, visible=k == 0))
        for trace in traces:
            fig.add_trace(trace, row=1, col=1)
        if aa is not None:
            for label, batch, color in (("true (encoded)", truth, "black"), ("action_angle", aa(x0, jump), "red")):
                actions, angles = aa.to_action_angle(batch)
                fig.add_trace(go.Scatter(x=angles[:, dof], y=actions[:, dof], mode="markers", name=label,
                                         marker={"color": color, "size": 4}, visible=k == 0, showlegend=False),
                              row=1, col=2)
                traces.append(None)
        traces_per_jump = len(traces)
    steps = []
    for k, j in enumerate(jumps):
        visible = [k == i for i in range(len(jumps)) for _ in range(traces_per_jump)]
        steps.append({"method": "update", "label": str(j), "args": [{"visible": visible}]})
    fig.update_layout(title=title, template="plotly_white",
                      sliders=[{"active": 0, "currentvalue": {"prefix": "jump: "}, "steps": steps}])
    fig.update_xaxes(title_text=f"q[{dof}]", row=1, col=1)
    fig.update_yaxes(title_text=f"p[{dof}]", row=1, col=1)
    if aa is not None:
        fig.update_xaxes(title_text=f"angle[{dof}]", row=1, col=2)
        fig.update_yaxes(title_text=f"action[{dof}]", row=1, col=2)
    return fig
