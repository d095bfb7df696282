"""TensorProductExplorer: decompose the tensor product of two irreps and check the Clebsch-Gordan maps live.

Pick a group (O(3), SU(2), SU(3), Lorentz) and two irreps ``V1, V2``. The explorer shows

* the decomposition ``V1 x V2 = sum_k mult_k V3_k`` as a table, with the dimension check
  ``dim V1 * dim V2 = sum_k mult_k dim V3_k``;
* the Clebsch-Gordan tensor ``C[i, j, k, u]`` of each output irrep as a heatmap (rows: input pairs ``(i, j)``,
  columns: output component ``k``; one heatmap per copy ``u``);
* a live check on a random group element ``g`` that each ``C`` is an equivariant projection (the one contract of
  ``workbench.groups``' ``clebsch_gordan``): ``sum_ij C_ijk rho1(g)_ia rho2(g)_jb = sum_c rho3(g)_kc C_abc``,
  measured by :func:`workbench.groups.intertwining_error`.

The numbers come from the pure functions of this module (unit-tested); the widget class only wires controls to
them. Plots are shown offline through plotly's JSON mimetype in an ``ipywidgets.Output`` (see
:func:`widgets.irreps_explorer.show_figure`; no CDN).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from widgets.irreps_explorer import show_figure
from workbench import groups

__all__ = [
    "GROUP_NAMES",
    "TEACHING_IRREPS",
    "make_group",
    "DecompositionRow",
    "Decomposition",
    "decompose_product",
    "clebsch_gordan_blocks",
    "intertwining_error",
    "IntertwiningCheck",
    "check_intertwining",
    "clebsch_gordan_figure",
    "TensorProductExplorer",
]


def _group_factories() -> dict[str, Callable[[], Any]]:

    return {"O(3)": groups.O3, "SU(2)": groups.SU2, "SU(3)": groups.SU3, "Lorentz": groups.Lorentz}


#: Groups the explorer offers, by display name.
GROUP_NAMES: tuple[str, ...] = ("O(3)", "SU(2)", "SU(3)", "Lorentz")

#: Irreps offered in the explorer's drop-downs, by group (labels as ``group.irrep`` accepts them).
TEACHING_IRREPS: dict[str, tuple[str, ...]] = {
    "O(3)": ("0e", "0o", "1o", "1e", "2e", "2o", "3o"),
    "SU(2)": ("0", "1/2", "1", "3/2", "2", "5/2"),
    "SU(3)": ("1", "3", "3bar", "6", "6bar", "8", "10"),
    "Lorentz": ("(0,0)", "(1/2,0)", "(0,1/2)", "(1/2,1/2)", "(1,0)", "(0,1)", "(1,1)"),
}


def make_group(group: str | Any) -> Any:
    """A ``workbench.groups`` group from its display name (one of :data:`GROUP_NAMES`), or ``group`` itself.

    An object is accepted as a group when it has ``irrep``, ``decompose``, ``clebsch_gordan`` and
    ``random_element``.
    """
    if isinstance(group, str):
        factories = _group_factories()
        if group not in factories:
            raise ValueError(f"group must be one of {GROUP_NAMES} or a workbench.groups group, got {group!r}")
        return factories[group]()
    missing = [a for a in ("irrep", "decompose", "clebsch_gordan", "random_element") if not hasattr(group, a)]
    if missing:
        raise TypeError(
            f"group must be one of {GROUP_NAMES} or a workbench.groups group; {type(group).__name__} lacks "
            f"{', '.join(missing)}"
        )
    return group


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _group_name(group: Any) -> str:
    return str(getattr(group, "name", type(group).__name__))


@dataclass(frozen=True)
class DecompositionRow:
    """One output irrep of a decomposition: its label, multiplicity and dimension."""

    label: str
    multiplicity: int
    dim: int


@dataclass(frozen=True)
class Decomposition:
    """``V1 x V2 = sum_k multiplicity_k V3_k`` with the data of the dimension check."""

    group: str
    irrep1: str
    irrep2: str
    dim1: int
    dim2: int
    rows: tuple[DecompositionRow, ...]

    @property
    def product_dim(self) -> int:
        """``dim V1 * dim V2``."""
        return self.dim1 * self.dim2

    @property
    def total_dim(self) -> int:
        """``sum_k multiplicity_k * dim V3_k``."""
        return sum(r.multiplicity * r.dim for r in self.rows)

    @property
    def dimension_ok(self) -> bool:
        """Whether the dimensions add up: ``product_dim == total_dim``."""
        return self.product_dim == self.total_dim

    def formula(self) -> str:
        """e.g. ``"1o x 1o = 0e + 1e + 2e"`` (multiplicities written ``2x8``)."""
        terms = [r.label if r.multiplicity == 1 else f"{r.multiplicity}x{r.label}" for r in self.rows]
        return f"{self.irrep1} x {self.irrep2} = {' + '.join(terms) if terms else '0'}"

    def to_frame(self) -> Any:
        """The table as a pandas DataFrame: irrep, multiplicity, dim, multiplicity * dim."""

        return pd.DataFrame(
            [(r.label, r.multiplicity, r.dim, r.multiplicity * r.dim) for r in self.rows],
            columns=["irrep", "multiplicity", "dim", "multiplicity x dim"],
        )

    def to_html(self) -> str:
        """An HTML table with the dimension check as its last line."""
        rows = "".join(
            f"<tr><td>{html.escape(r.label)}</td><td>{r.multiplicity}</td><td>{r.dim}</td>"
            f"<td>{r.multiplicity * r.dim}</td></tr>" for r in self.rows
        )
        verdict = "OK" if self.dimension_ok else "MISMATCH"
        return (
            f"<table class='workbench-decomposition'><caption>{html.escape(self.group)}: "
            f"{html.escape(self.formula())}</caption>"
            "<tr><th>irrep</th><th>multiplicity</th><th>dim</th><th>mult x dim</th></tr>"
            f"{rows}<tr><td colspan='3'>dimension check: {self.dim1} x {self.dim2} = {self.product_dim}</td>"
            f"<td>{self.total_dim} ({verdict})</td></tr></table>"
        )


def decompose_product(group: str | Any, irrep1: Any, irrep2: Any) -> Decomposition:
    """Decompose ``irrep1 x irrep2`` of ``group`` (name or object) with ``group.decompose``.

    Labels are kept as the group writes them (``str`` of what ``decompose`` returns).
    """
    g = make_group(group)
    rows = []
    for label, multiplicity in g.decompose(irrep1, irrep2):
        if int(multiplicity) <= 0:
            continue
        rows.append(DecompositionRow(label=_label(label, g), multiplicity=int(multiplicity),
                                     dim=int(g.irrep(label).dim)))
    return Decomposition(group=_group_name(g), irrep1=_label(irrep1, g), irrep2=_label(irrep2, g),
                         dim1=int(g.irrep(irrep1).dim), dim2=int(g.irrep(irrep2).dim), rows=tuple(rows))


def _label(label: Any, group: Any = None) -> str:
    """The display form of an irrep label: the group's conventional name (``group.name_of``, e.g. SU(3)'s "8")
    or ``group.format_label`` when the group has them, else ``str``."""
    if group is not None and hasattr(group, "format_label") and hasattr(group, "canonical_label"):
        try:
            if hasattr(group, "name_of"):
                return str(group.name_of(label))
            return str(group.format_label(group.canonical_label(label)))
        except (TypeError, ValueError):
            pass
    if isinstance(label, tuple):
        return "(" + ",".join(_half(x) for x in label) + ")"
    return str(label)


def _half(x: Any) -> str:
    if isinstance(x, float) and float(x).is_integer():
        return str(int(x))
    if isinstance(x, float) and float(2 * x).is_integer():
        return f"{int(2 * x)}/2"
    return str(x)


def clebsch_gordan_blocks(group: str | Any, irrep1: Any, irrep2: Any) -> dict[str, np.ndarray]:
    """The CG tensor of every output irrep of ``irrep1 x irrep2``: label -> ``[d1, d2, d3, multiplicity]``.

    Real groups give float64 arrays; groups with complex irreps (Lorentz, SU(3) in its complex form) may give
    complex128.
    """
    g = make_group(group)
    blocks = {}
    for label, multiplicity in g.decompose(irrep1, irrep2):
        if int(multiplicity) > 0:
            blocks[_label(label, g)] = _to_numpy(g.clebsch_gordan(irrep1, irrep2, label))
    return blocks


def intertwining_error(rho1: np.ndarray, rho2: np.ndarray, rho3: np.ndarray, cg: np.ndarray) -> float:
    """Relative residual of the projection contract ``C^T (rho1 x rho2) = rho3 C^T`` for ``C`` = ``cg``
    ``[d1, d2, d3, mult]`` given as matrices (:func:`workbench.groups.intertwining_error` is the group-level check).

    ``rho1, rho2, rho3`` are the irrep matrices of one group element (``[d1, d1]``, ``[d2, d2]``, ``[d3, d3]``).
    Returns ``max_u ||lhs_u - rhs_u|| / max(||lhs_u||, ||rhs_u||)`` (Frobenius norms), which is 0 for an exact
    intertwiner and of order 1 for a wrong one; an empty ``C`` (multiplicity 0) gives 0.
    """
    lhs, rhs = groups.intertwining_sides(*(torch.as_tensor(np.asarray(a)) for a in (cg, rho1, rho2, rho3)))
    worst = 0.0
    for u in range(lhs.shape[3]):
        scale = max(float(torch.linalg.norm(lhs[..., u])), float(torch.linalg.norm(rhs[..., u])))
        if scale == 0.0:
            raise ValueError(f"cg[..., {u}] is identically zero: not a Clebsch-Gordan tensor")
        worst = max(worst, float(torch.linalg.norm(lhs[..., u] - rhs[..., u])) / scale)
    return worst


@dataclass(frozen=True)
class IntertwiningCheck:
    """Result of :func:`check_intertwining`: the relative error per output irrep for one random element."""

    group: str
    irrep1: str
    irrep2: str
    errors: dict[str, float]

    @property
    def max_error(self) -> float:
        """The worst relative error over all output irreps."""
        return max(self.errors.values(), default=0.0)


def check_intertwining(group: str | Any, irrep1: Any, irrep2: Any, element: Any = None,
                       generator: torch.Generator | None = None) -> IntertwiningCheck:
    """Check every CG tensor of ``irrep1 x irrep2`` on ``element`` (default: ``group.random_element(generator)``).

    Each error is :func:`workbench.groups.intertwining_error` (max abs residual) divided by the largest entry of
    ``rho1(g) x rho2(g)`` (so boosts of the Lorentz group read on the same scale as rotations).
    """
    g = make_group(group)
    if element is None:
        element = g.random_element(generator=generator)
    scale = max(1.0, float(g.irrep(irrep1).matrix(element).abs().max() * g.irrep(irrep2).matrix(element).abs().max()))
    errors = {}
    for label, multiplicity in g.decompose(irrep1, irrep2):
        if int(multiplicity) <= 0:
            continue
        errors[_label(label, g)] = groups.intertwining_error(g, irrep1, irrep2, label, element) / scale
    return IntertwiningCheck(group=_group_name(g), irrep1=_label(irrep1, g), irrep2=_label(irrep2, g),
                             errors=errors)


def _heatmap_matrix(cg: np.ndarray, copy: int) -> tuple[np.ndarray, str]:
    """``C[..., copy]`` as a ``[d1 d2, d3]`` real matrix for display, and what it shows."""
    d1, d2, d3, _ = cg.shape
    block = cg[..., copy].reshape(d1 * d2, d3)
    if np.iscomplexobj(block) and np.max(np.abs(block.imag), initial=0.0) > 1e-12:
        if np.max(np.abs(block.real), initial=0.0) < 1e-12:
            return block.imag, "imaginary part"
        return np.abs(block), "modulus"
    return np.real(block), "value"


def clebsch_gordan_figure(blocks: dict[str, np.ndarray]) -> Any:
    """A plotly figure with one heatmap per (output irrep, copy) of ``blocks`` (from :func:`clebsch_gordan_blocks`).

    Each heatmap is ``C[..., u]`` read as a ``[d1 d2, d3]`` matrix: rows are input pairs ``(i, j)``, columns the
    output component ``k``. Complex tensors show their real part when it is all there is, the imaginary part
    when they are purely imaginary, and the modulus otherwise (the subplot title says which).
    """

    panels = []
    for label, cg in blocks.items():
        cg = np.asarray(cg)
        if cg.ndim != 4:
            raise ValueError(f"blocks[{label!r}] must have shape [d1, d2, d3, mult], got {cg.shape}")
        for u in range(cg.shape[3]):
            matrix, shown = _heatmap_matrix(cg, u)
            title = f"-> {label}" + (f" #{u + 1}" if cg.shape[3] > 1 else "")
            title += "" if shown == "value" else f" ({shown})"
            panels.append((title, matrix, cg.shape))
    if not panels:
        raise ValueError("blocks is empty: nothing to draw")
    figure = make_subplots(rows=1, cols=len(panels), subplot_titles=[t for t, _, _ in panels],
                           horizontal_spacing=min(0.08, 0.5 / len(panels)))
    bound = max(float(np.max(np.abs(m))) for _, m, _ in panels) or 1.0
    for col, (_title, matrix, (d1, d2, d3, _mult)) in enumerate(panels, start=1):
        rows = [f"({i},{j})" for i in range(d1) for j in range(d2)]
        figure.add_trace(go.Heatmap(z=matrix, y=rows, x=[str(k) for k in range(d3)], colorscale="RdBu", zmid=0.0,
                                    zmin=-bound, zmax=bound, showscale=col == len(panels)), row=1, col=col)
        figure.update_yaxes(autorange="reversed", showticklabels=col == 1, row=1, col=col)
        figure.update_xaxes(title_text="k", row=1, col=col)
    d1, d2 = panels[0][2][:2]
    figure.update_layout(height=min(720, 160 + 16 * d1 * d2), width=max(420, 170 * len(panels) + 120),
                         margin=dict(l=60, r=20, t=60, b=40), title="Clebsch-Gordan tensors C[(i,j), k]")
    return figure


class TensorProductExplorer:
    """Interactive decomposition of ``V1 x V2`` with CG heatmaps and a live intertwining check.

    Controls: group, the two irreps (drop-downs of :data:`TEACHING_IRREPS`), and a button drawing a new random
    group element. Display it as the last expression of a cell.

    Attributes:
        decomposition: the current :class:`Decomposition`; ``check``: the current :class:`IntertwiningCheck`;
        blocks: the CG tensors by output irrep.
        figure: the plotly figure (``go.Figure``) with one heatmap per (output irrep, copy), shown in ``output``.
        controls: the ipywidgets controls by name ("group", "irrep1", "irrep2", "resample").
        widget: the top-level ipywidgets container.
    """

    def __init__(self, group: str = "O(3)", irrep1: str | None = None, irrep2: str | None = None,
                 seed: int = 0) -> None:

        if group not in TEACHING_IRREPS:
            raise ValueError(f"group must be one of {GROUP_NAMES}, got {group!r}")
        options = TEACHING_IRREPS[group]
        irrep1 = options[2] if irrep1 is None else irrep1
        irrep2 = options[2] if irrep2 is None else irrep2
        for name, value in (("irrep1", irrep1), ("irrep2", irrep2)):
            if value not in options:
                raise ValueError(f"{name} must be one of {options} for {group}, got {value!r}")
        self._generator = torch.Generator().manual_seed(int(seed))
        self.controls = {
            "group": w.Dropdown(options=list(GROUP_NAMES), value=group, description="group"),
            "irrep1": w.Dropdown(options=list(options), value=irrep1, description="irrep 1"),
            "irrep2": w.Dropdown(options=list(options), value=irrep2, description="irrep 2"),
            "resample": w.Button(description="new random element"),
        }
        self.table = w.HTML()
        self.status = w.HTML()
        self.output = w.Output()
        self.output.add_class("workbench-cg-heatmaps")
        self.controls["group"].observe(self._on_group, names="value")
        self.controls["irrep1"].observe(self._on_irrep, names="value")
        self.controls["irrep2"].observe(self._on_irrep, names="value")
        self.controls["resample"].on_click(lambda _button: self.recheck())
        c = self.controls
        self.widget = w.VBox([w.HBox([c["group"], c["irrep1"], c["irrep2"], c["resample"]]),
                              w.HBox([self.table, self.status]), self.output])
        self.widget.add_class("workbench-tensor-product-explorer")
        self._updating = False
        self.update()

    def _on_group(self, change: dict) -> None:
        options = TEACHING_IRREPS[change["new"]]
        self._updating = True
        try:
            for key in ("irrep1", "irrep2"):
                self.controls[key].options = list(options)
                self.controls[key].value = options[min(2, len(options) - 1)]
        finally:
            self._updating = False
        self.update()

    def _on_irrep(self, change: dict) -> None:
        if not self._updating:
            self.update()

    def update(self) -> Decomposition:
        """Recompute the decomposition, heatmaps and check from the controls; returns the decomposition."""
        c = self.controls
        self._group = make_group(c["group"].value)
        ir1, ir2 = c["irrep1"].value, c["irrep2"].value
        self.decomposition = decompose_product(self._group, ir1, ir2)
        self.blocks = clebsch_gordan_blocks(self._group, ir1, ir2)
        self.table.value = self.decomposition.to_html()
        self.figure = clebsch_gordan_figure(self.blocks)
        show_figure(self.output, self.figure)
        self.recheck()
        return self.decomposition

    def recheck(self) -> IntertwiningCheck:
        """Draw a new random element and rerun the intertwining check; returns the result."""
        c = self.controls
        self.check = check_intertwining(self._group, c["irrep1"].value, c["irrep2"].value,
                                        generator=self._generator)
        lines = "".join(f"<li>{html.escape(k)}: {v:.2e}</li>" for k, v in self.check.errors.items())
        self.status.value = (
            "<div class='workbench-intertwining'>intertwining check on a random element "
            f"(relative error of (rho1 x rho2) C = C rho3):<ul>{lines}</ul>max = "
            f"<b>{self.check.max_error:.2e}</b></div>"
        )
        return self.check

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        return self.widget._repr_mimebundle_(**kwargs)
