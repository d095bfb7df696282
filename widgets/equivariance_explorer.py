"""EquivarianceExplorer: rotate (or boost) a model's input with sliders and watch ``f(g x)`` follow ``g f(x)``.

The numbers come from :mod:`workbench.equivariance` through the pure function :func:`explorer_state`
(unit-tested without a browser); the widget only wires sliders to it and pushes the results into plotly
``FigureWidget`` s (plotly.js ships with the installed plotly package: nothing is fetched from a CDN).

Groups (``group=``):

- ``"so3"``: rotations of a point cloud ``sample`` of shape ``(N, 3)``; sliders are the Y-X-Y Euler angles
  ``alpha, beta, gamma`` of the workbench (``R = angles_to_matrix(alpha, beta, gamma)``);
- ``"lorentz"``: a set of 4-momenta ``(N, 4) = (E, px, py, pz)``; sliders are the rapidity and the boost
  direction (polar angle ``theta`` from z, azimuth ``phi``);
- ``"image"``: an image ``(C, H, W)`` rotated in its plane by ``angle`` (bicubic resampling);
- or a pair ``(rho_in, rho_out)`` of :class:`workbench.equivariance.Action` for anything else (the
  sliders are then the Lie-algebra coordinates ``theta_i``).

The model is called on a batch of one (``model(sample[None])``) and its output's first axis is dropped.
``output_representation`` says how the output transforms (default: invariant).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go
import torch

from workbench.equivariance import (
    Action,
    ImageAction,
    TrivialAction,
    chain_layers,
    check_representations,
    layerwise_lie_derivative,
    lie_derivative,
    lorentz_on_four_vectors,
    rigid_on_images,
    so3_on_points,
)
from workbench.groups.o3 import angles_to_matrix, matrix_to_axis_angle

__all__ = ["GROUPS", "ExplorerState", "group_representations", "explorer_state", "EquivarianceExplorer",
           "slider_parameters"]

GROUPS = ("so3", "lorentz", "image")
MAX_BARS = 48


def group_representations(group: object, output_representation: Action | None = None
                          ) -> tuple[str, Action, Action]:
    """``(kind, rho_in, rho_out)`` for ``group`` (a name from :data:`GROUPS` or a ``(rho_in, rho_out)`` pair)."""
    if isinstance(group, tuple) and len(group) == 2:
        rho_in, rho_out = check_representations(*group)
        return "custom", rho_in, rho_out
    if group == "so3":
        rho_in = so3_on_points()
    elif group == "lorentz":
        rho_in = lorentz_on_four_vectors()
    elif group == "image":
        rho_in = rigid_on_images(("rotation",))
    else:
        raise ValueError(f"group must be one of {GROUPS} or a (rho_in, rho_out) pair, got {group!r}")
    rho_in, rho_out = check_representations(rho_in, output_representation)
    return str(group), rho_in, rho_out


def slider_parameters(kind: str, values: dict[str, float], num_generators: int) -> torch.Tensor:
    """Lie-algebra coordinates (float64 ``(k,)``) of the group element the sliders describe."""
    if kind == "so3":

        rot = angles_to_matrix(*(torch.tensor(float(values[n]), dtype=torch.float64)
                                 for n in ("alpha", "beta", "gamma")))
        axis, angle = matrix_to_axis_angle(rot)
        return (axis * angle).to(torch.float64).reshape(3)
    if kind == "lorentz":
        polar, azimuth = float(values["theta"]), float(values["phi"])
        direction = torch.tensor([math.sin(polar) * math.cos(azimuth), math.sin(polar) * math.sin(azimuth),
                                  math.cos(polar)], dtype=torch.float64)
        return torch.cat([torch.zeros(3, dtype=torch.float64), float(values["rapidity"]) * direction])
    if kind == "image":
        return torch.tensor([float(values["angle"])], dtype=torch.float64)
    return torch.tensor([float(values[f"theta_{i}"]) for i in range(num_generators)], dtype=torch.float64)


@dataclass(frozen=True)
class ExplorerState:
    """What the explorer shows for one group element.

    Attributes:
        theta: ``(k,)`` Lie-algebra coordinates of ``g``.
        transformed_input: ``g x`` (numpy, the sample's shape).
        f_of_gx, g_of_fx: ``f(g x)`` and ``g f(x)``, flattened (numpy).
        difference: ``f(g x) - g f(x)``.
        relative_error: ``||difference|| / ||g f(x)||``.
        lie_norms: ``{generator: ||L_A f(g x)||}``.
        layer_norms: ``{layer: ||contribution||}`` for ``layer_generator`` at ``g x`` (empty if no layer chain).
    """

    theta: np.ndarray
    transformed_input: np.ndarray
    f_of_gx: np.ndarray
    g_of_fx: np.ndarray
    difference: np.ndarray
    relative_error: float
    lie_norms: dict[str, float]
    layer_norms: dict[str, float]
    layer_generator: str


def explorer_state(model: Callable[[torch.Tensor], torch.Tensor], sample: torch.Tensor, rho_in: Action,
                   rho_out: Action, theta: torch.Tensor, *, layers: list[str] | None = None,
                   layer_generator: str | None = None) -> ExplorerState:
    """Compute everything the explorer displays for the group element ``exp(sum theta_i A_i)``.

    ``model`` takes a batch (``sample[None]``); the Lie derivatives are taken at the transformed input ``g x``.
    """
    if not isinstance(sample, torch.Tensor) or not sample.is_floating_point():
        raise TypeError(f"sample must be a floating-point torch.Tensor, got {type(sample).__name__}")
    rho_in, rho_out = check_representations(rho_in, rho_out)
    theta = torch.as_tensor(theta, dtype=torch.float64)
    batch = sample[None]
    with torch.no_grad():
        gx = rho_in.act(batch, theta)
        f_gx = model(gx)
        g_fx = rho_out.act(model(batch), theta)
    if not isinstance(f_gx, torch.Tensor) or f_gx.dim() == 0 or f_gx.shape[0] != 1:
        raise ValueError("model(sample[None]) must return a tensor with a leading batch axis of size 1")
    diff = f_gx - g_fx
    rel = float(diff.norm() / g_fx.norm().clamp(min=torch.finfo(g_fx.dtype).tiny))
    lie_norms = {name: float(lie_derivative(model, gx, rho_in, rho_out, name).detach().norm())
                 for name in rho_in.generator_names}
    generator = layer_generator or rho_in.generator_names[0]
    layer_norms: dict[str, float] = {}
    if isinstance(model, torch.nn.Module):
        names = layers
        if names is None:
            try:
                names = chain_layers(model)
            except ValueError:
                names = None
        if names:
            frame = layerwise_lie_derivative(model, gx, rho_in, rho_out, generator, layers=names)
            layer_norms = {f"{row.layer} {row.module}".strip(): float(row.norm) for row in frame.itertuples()}
    return ExplorerState(
        theta=theta.numpy(), transformed_input=gx[0].detach().numpy(),
        f_of_gx=f_gx[0].detach().reshape(-1).numpy(), g_of_fx=g_fx[0].detach().reshape(-1).numpy(),
        difference=diff[0].detach().reshape(-1).numpy(), relative_error=rel, lie_norms=lie_norms,
        layer_norms=layer_norms, layer_generator=generator,
    )


def _check_sample(kind: str, sample: torch.Tensor) -> None:
    expected = {"so3": (2, 3, "(N, 3) points"), "lorentz": (2, 4, "(N, 4) four-momenta")}
    if kind in expected:
        ndim, last, text = expected[kind]
        if sample.dim() != ndim or sample.shape[-1] != last:
            raise ValueError(f"sample must be {text} for group={kind!r}, got shape {tuple(sample.shape)}")
    if kind == "image" and sample.dim() != 3:
        raise ValueError(f"sample must be an image (C, H, W) for group='image', got shape {tuple(sample.shape)}")


class EquivarianceExplorer:
    """Sliders for a group element, the transformed input, ``f(g x)`` beside ``g f(x)`` and their difference,
    and the Lie derivative per generator and per layer.

    Args:
        model: a function or ``nn.Module`` taking a batch (``sample[None]``) and returning ``(1, ...)``.
        sample: one input without batch axis (see the module docstring for the shapes per group).
        group: ``"so3"``, ``"lorentz"``, ``"image"`` or a ``(rho_in, rho_out)`` pair.
        output_representation: how outputs transform (default invariant); ignored for a pair.
        layers: the module names of the layer chain (default: ``chain_layers(model)`` when it applies).

    Attributes:
        state: the current :class:`ExplorerState`; controls: sliders by name; widget: the container to display;
        input_figure, output_figure, lie_figure, layer_figure: the plotly ``FigureWidget`` s.
    """

    def __init__(self, model: Callable[[torch.Tensor], torch.Tensor], sample: torch.Tensor, group: object = "so3",
                 *, output_representation: Action | None = None, layers: list[str] | None = None) -> None:

        if not callable(model):
            raise TypeError(f"model must be callable, got {type(model).__name__}")
        if not isinstance(sample, torch.Tensor) or not sample.is_floating_point():
            raise TypeError(f"sample must be a floating-point torch.Tensor, got {type(sample).__name__}")
        self.kind, self.rho_in, self.rho_out = group_representations(group, output_representation)
        _check_sample(self.kind, sample)
        self.model, self.sample, self.layers = model, sample, layers
        slider = dict(step=0.05, continuous_update=False, readout_format=".2f")
        if self.kind == "so3":
            self.controls = {n: w.FloatSlider(value=0.0, min=-math.pi, max=math.pi, description=n, **slider)
                             for n in ("alpha", "beta", "gamma")}
        elif self.kind == "lorentz":
            self.controls = {
                "rapidity": w.FloatSlider(value=0.0, min=0.0, max=2.0, description="rapidity", **slider),
                "theta": w.FloatSlider(value=math.pi / 2, min=0.0, max=math.pi, description="dir theta", **slider),
                "phi": w.FloatSlider(value=0.0, min=-math.pi, max=math.pi, description="dir phi", **slider),
            }
        elif self.kind == "image":
            self.controls = {"angle": w.FloatSlider(value=0.0, min=-math.pi, max=math.pi, description="angle",
                                                    **slider)}
        else:
            self.controls = {f"theta_{i}": w.FloatSlider(value=0.0, min=-math.pi, max=math.pi, description=name,
                                                         **slider)
                             for i, name in enumerate(self.rho_in.generator_names)}
        self.generator = w.Dropdown(options=list(self.rho_in.generator_names), description="layers for")
        self.status = w.HTML()
        self.state = self._compute()

        self.input_figure = go.FigureWidget(layout=go.Layout(width=430, height=380, margin=dict(l=0, r=0, t=40, b=0)))
        self._init_input_figure(go)
        self.output_figure = go.FigureWidget(
            data=[go.Bar(name="f(g x)", marker_color="#4c72b0"), go.Bar(name="g f(x)", marker_color="#dd8452"),
                  go.Bar(name="difference", marker_color="#c44e52")],
            layout=go.Layout(width=520, height=320, barmode="group", margin=dict(l=40, r=10, t=50, b=40)),
        )
        self.lie_figure = go.FigureWidget(
            data=[go.Bar(marker_color="#55a868")],
            layout=go.Layout(width=430, height=280, margin=dict(l=50, r=10, t=40, b=40),
                             title="Lie derivative |L_A f(g x)| per generator", yaxis_title="norm"),
        )
        self.layer_figure = go.FigureWidget(
            data=[go.Bar(marker_color="#8172b3")],
            layout=go.Layout(width=520, height=280, margin=dict(l=50, r=10, t=40, b=90), yaxis_title="norm"),
        )
        for control in (*self.controls.values(), self.generator):
            control.observe(self._on_change, names="value")
        self.widget = w.VBox([
            w.HBox(list(self.controls.values()) + [self.generator]),
            self.status,
            w.HBox([self.input_figure, self.output_figure]),
            w.HBox([self.lie_figure, self.layer_figure]),
        ])
        self.widget.add_class("workbench-equivariance-explorer")
        self._draw()

    # -- computation -------------------------------------------------------------------------------------------
    def _compute(self) -> ExplorerState:
        values = {name: control.value for name, control in self.controls.items()}
        theta = slider_parameters(self.kind, values, self.rho_in.num_generators)
        return explorer_state(self.model, self.sample, self.rho_in, self.rho_out, theta, layers=self.layers,
                              layer_generator=self.generator.value)

    def update(self) -> ExplorerState:
        """Recompute for the current slider values and redraw; returns the new state."""
        self.state = self._compute()
        self._draw()
        return self.state

    def _on_change(self, change: dict) -> None:
        self.update()

    # -- drawing -----------------------------------------------------------------------------------------------
    def _init_input_figure(self, go) -> None:
        x = self.sample.detach().numpy()
        if self.kind == "image" or isinstance(self.rho_in, ImageAction):
            self.input_figure.add_trace(go.Heatmap(z=x.reshape(-1, *x.shape[-2:])[0], colorscale="Viridis",
                                                   showscale=False))
            self.input_figure.update_layout(yaxis=dict(autorange="reversed", scaleanchor="x"))
            return
        points = x.reshape(-1, x.shape[-1])
        spatial = points[:, 1:4] if self.kind == "lorentz" else points[:, :3]
        if spatial.shape[1] < 3:
            spatial = np.pad(spatial, ((0, 0), (0, 3 - spatial.shape[1])))
        self.input_figure.add_trace(go.Scatter3d(x=spatial[:, 0], y=spatial[:, 1], z=spatial[:, 2], mode="markers",
                                                 name="x", marker=dict(size=3, color="#bbbbbb")))
        self.input_figure.add_trace(go.Scatter3d(x=spatial[:, 0], y=spatial[:, 1], z=spatial[:, 2], mode="markers",
                                                 name="g x", marker=dict(size=4, color="#4c72b0")))
        bound = float(np.abs(spatial).max()) * (3.0 if self.kind == "lorentz" else 1.1) or 1.0
        axis = dict(range=[-bound, bound])
        self.input_figure.update_layout(scene=dict(aspectmode="cube", xaxis=axis, yaxis=axis, zaxis=axis))

    def _draw(self) -> None:
        s = self.state
        gx = s.transformed_input
        with self.input_figure.batch_update():
            if self.kind == "image" or isinstance(self.rho_in, ImageAction):
                self.input_figure.data[0].z = gx.reshape(-1, *gx.shape[-2:])[0]
                self.input_figure.layout.title = "g x (channel 0)"
            else:
                points = gx.reshape(-1, gx.shape[-1])
                spatial = points[:, 1:4] if self.kind == "lorentz" else points[:, :3]
                trace = self.input_figure.data[1]
                trace.x, trace.y = spatial[:, 0], spatial[:, 1]
                trace.z = spatial[:, 2] if spatial.shape[1] > 2 else np.zeros(len(spatial))
                self.input_figure.layout.title = "input x (grey) and g x (blue)" + (
                    ": momenta (px, py, pz)" if self.kind == "lorentz" else "")
        n = min(MAX_BARS, s.f_of_gx.size)
        labels = [str(i) for i in range(n)]
        with self.output_figure.batch_update():
            for trace, values in zip(self.output_figure.data, (s.f_of_gx, s.g_of_fx, s.difference)):
                trace.x, trace.y = labels, values[:n]
            shown = "" if n == s.f_of_gx.size else f" (first {n} of {s.f_of_gx.size})"
            self.output_figure.layout.title = (f"outputs{shown}: relative error |f(gx) - g f(x)| / |g f(x)| = "
                                               f"{s.relative_error:.3e}")
        with self.lie_figure.batch_update():
            self.lie_figure.data[0].x = list(s.lie_norms)
            self.lie_figure.data[0].y = list(s.lie_norms.values())
        with self.layer_figure.batch_update():
            self.layer_figure.data[0].x = list(s.layer_norms)
            self.layer_figure.data[0].y = list(s.layer_norms.values())
            self.layer_figure.layout.title = (f"per-layer contribution to L_{s.layer_generator} f(g x)"
                                              if s.layer_norms else "per-layer view needs an nn.Sequential model "
                                              "or layers=[...]")
        output_kind = "invariant" if isinstance(self.rho_out, TrivialAction) else self.rho_out.name
        self.status.value = (
            f"<span class='workbench-equivariance-status' data-relative-error='{s.relative_error:.6e}'>"
            f"{self.rho_in.name}, output {output_kind}; g = exp({', '.join(f'{t:+.3f}' for t in s.theta)} . A); "
            f"relative error = <b>{s.relative_error:.3e}</b>; "
            f"max |L_A f| = <b>{max(s.lie_norms.values()):.3e}</b></span>"
        )

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        return self.widget._repr_mimebundle_(**kwargs)
