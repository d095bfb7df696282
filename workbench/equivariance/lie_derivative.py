"""The Lie derivative of a model and the Local Equivariance Error (Gruver et al., arXiv 2210.02984).

For a generator ``A`` of a group acting on inputs by ``rho_in`` and on outputs by ``rho_out``,

    L_A f(x) = d/dt [ rho_out(exp(-t A)) f(rho_in(exp(t A)) x) ]  at t = 0,

computed exactly by forward-mode autodiff (``torch.func.jvp``). ``L_A f = 0`` for every generator if and only if
``f`` is equivariant under the connected group the generators span.

The Local Equivariance Error of the paper is the squared norm of the Lie derivative, normalized by the output
dimension and averaged over inputs: ``LEE_A(f) = E_x ||L_A f(x)||^2 / d_out`` (:func:`local_equivariance_error`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import torch
from torch.func import jvp

from workbench.checks import check_tensor
from workbench.equivariance.actions import Action, TrivialAction

__all__ = ["lie_derivative", "lie_derivatives", "local_equivariance_error", "check_representations"]

Generator = int | str | Sequence[float] | torch.Tensor


def check_representations(rho_in: object, rho_out: object) -> tuple[Action, Action]:
    """Validate a pair of actions: ``rho_out`` must be trivial or have as many generators as ``rho_in``."""
    if not isinstance(rho_in, Action):
        raise TypeError(f"rho_in must be a workbench.equivariance Action, got {type(rho_in).__name__}")
    if rho_out is None:
        rho_out = TrivialAction()
    if not isinstance(rho_out, Action):
        raise TypeError(f"rho_out must be a Action or None (invariant), got {type(rho_out).__name__}")
    if isinstance(rho_in, TrivialAction):
        raise ValueError("rho_in must act non-trivially (it names the generators); got TrivialAction")
    if not isinstance(rho_out, TrivialAction) and rho_out.num_generators != rho_in.num_generators:
        raise ValueError(
            f"rho_out has generators {list(rho_out.generator_names)} but rho_in has "
            f"{list(rho_in.generator_names)}; both must represent the same Lie algebra basis"
        )
    return rho_in, rho_out


def _transformed_curve(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, rho_in: Action,
                       rho_out: Action, direction: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    def curve(t: torch.Tensor) -> torch.Tensor:
        theta = t * direction
        y = f(rho_in.act(x, theta))
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"the model must return a single tensor, got {type(y).__name__}")
        return rho_out.act(y, -theta)

    return curve


def lie_derivative(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, rho_in: Action,
                   rho_out: Action | None = None, generator: Generator = 0) -> torch.Tensor:
    """The Lie derivative ``L_A f(x)`` (same shape as ``f(x)``) along one generator.

    Args:
        f: the model, a function of one tensor returning one tensor (put modules in ``eval()`` mode first if
            they have dropout or batch norm).
        x: the input (floating point); a batch is fine when ``f`` treats samples independently.
        rho_in: the action on inputs (e.g. :func:`~workbench.equivariance.so3_on_points`).
        rho_out: the action on outputs; ``None`` means invariant outputs.
        generator: index, name (``"rot_z"``) or coefficient vector of the Lie-algebra direction ``A``.

    Returns:
        ``d/dt rho_out(exp(-tA)) f(rho_in(exp(tA)) x)`` at ``t = 0``, in ``f(x)``'s dtype.

    Examples:
        >>> import torch
        >>> from workbench.equivariance import lie_derivative, so3_on_points
        >>> x = torch.randn(10, 3, dtype=torch.float64)
        >>> radius = lambda p: p.norm(dim=-1).sum(-1, keepdim=True)        # rotation-invariant
        >>> first_x = lambda p: p[..., :1, 0]                               # not invariant
        >>> float(lie_derivative(radius, x, so3_on_points(), generator="rot_z").abs().max()) < 1e-12
        True
        >>> float(lie_derivative(first_x, x, so3_on_points(), generator="rot_z").abs().max()) > 1e-3
        True
    """
    rho_in, rho_out = check_representations(rho_in, rho_out)
    check_tensor(x, "x", dtype="float", finite=True)
    direction = rho_in.direction(generator)
    t0 = torch.zeros((), dtype=x.dtype, device=x.device)
    curve = _transformed_curve(f, x, rho_in, rho_out, direction.to(dtype=x.dtype, device=x.device))
    _, tangent = jvp(curve, (t0,), (torch.ones_like(t0),))
    return tangent


def lie_derivatives(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, rho_in: Action,
                    rho_out: Action | None = None) -> dict[str, torch.Tensor]:
    """``{generator name: L_A f(x)}`` for every generator of ``rho_in``."""
    return {name: lie_derivative(f, x, rho_in, rho_out, name) for name in rho_in.generator_names}


def _as_samples(inputs: torch.Tensor | Sequence[torch.Tensor], batched: bool) -> list[torch.Tensor]:
    if isinstance(inputs, torch.Tensor):
        return [inputs] if batched else list(inputs)
    samples = list(inputs)
    if not samples or not all(isinstance(s, torch.Tensor) for s in samples):
        raise TypeError("inputs must be a tensor (a batch) or a non-empty sequence of tensors (one per sample)")
    return samples


def local_equivariance_error(f: Callable[[torch.Tensor], torch.Tensor],
                             inputs: torch.Tensor | Sequence[torch.Tensor], rho_in: Action,
                             rho_out: Action | None = None, generators: Sequence[Generator] | None = None,
                             *, batched: bool = True) -> pd.DataFrame:
    """The Local Equivariance Error per generator, as the paper defines it, with companion statistics.

    Args:
        f, rho_in, rho_out: as in :func:`lie_derivative`.
        inputs: a batch tensor whose first axis indexes samples (``batched=True``: ``f`` is called once on the
            whole batch and must treat samples independently), or a sequence of single-sample tensors
            (each passed to ``f`` on its own). With ``batched=False`` a tensor is split along its first axis.
        generators: which generators (default: all of ``rho_in``).

    Returns:
        DataFrame indexed by generator name, columns:
        ``lee`` = mean over samples of ``||L_A f(x)||^2 / d_out`` (the paper's LEE);
        ``mean_abs`` = mean over samples and outputs of ``|L_A f(x)_j|`` (the statistic the paper's released
        code tabulates for classifiers, there applied to softmax probabilities);
        ``lie_norm`` = mean ``||L_A f(x)||``; ``relative`` = mean ``||L_A f(x)|| / ||f(x)||``;
        ``output_norm`` = mean ``||f(x)||``; ``n_samples``.
    """
    rho_in, rho_out = check_representations(rho_in, rho_out)
    samples = _as_samples(inputs, batched)
    names = list(rho_in.generator_names) if generators is None else list(generators)
    rows = []
    for gen in names:
        sq, norms, rel, out_norms, mean_abs = [], [], [], [], []
        for x in samples:
            direction = rho_in.direction(gen)
            t0 = torch.zeros((), dtype=x.dtype, device=x.device)
            curve = _transformed_curve(f, x, rho_in, rho_out, direction.to(dtype=x.dtype, device=x.device))
            y, d = jvp(curve, (t0,), (torch.ones_like(t0),))
            y = y.detach()
            d = d.detach()
            if batched and isinstance(inputs, torch.Tensor):
                y2, d2 = y.reshape(y.shape[0], -1), d.reshape(d.shape[0], -1)
            else:
                y2, d2 = y.reshape(1, -1), d.reshape(1, -1)
            dn, yn = d2.norm(dim=1), y2.norm(dim=1)
            sq.append(dn**2 / d2.shape[1])
            mean_abs.append(d2.abs().mean(dim=1))
            norms.append(dn)
            rel.append(dn / yn.clamp(min=torch.finfo(yn.dtype).tiny))
            out_norms.append(yn)
        name = gen if isinstance(gen, str) else str(gen)
        if isinstance(gen, int):
            name = rho_in.generator_names[gen]
        rows.append({
            "generator": name,
            "lee": float(torch.cat(sq).mean()),
            "mean_abs": float(torch.cat(mean_abs).mean()),
            "lie_norm": float(torch.cat(norms).mean()),
            "relative": float(torch.cat(rel).mean()),
            "output_norm": float(torch.cat(out_norms).mean()),
            "n_samples": int(sum(len(n) for n in norms)),
        })
    return pd.DataFrame(rows).set_index("generator")
