"""Per-layer attribution of the Lie derivative (the layer-wise decomposition of Gruver et al., Sec. 5).

Write the model as a chain ``f = f_N o ... o f_1`` whose intermediate features carry actions ``rho_0 = rho_in``,
``rho_1``, ..., ``rho_N = rho_out``. Inserting ``rho_i(exp(tA)) rho_i(exp(-tA)) = 1`` between layers gives

    rho_out(exp(-tA)) f(rho_in(exp(tA)) x) = g_N(t) o ... o g_1(t) (x),   g_i(t) = rho_i(e^{-tA}) f_i rho_{i-1}(e^{tA}),

so by the chain rule ``L_A f(x) = sum_i J_{f_N o ... o f_{i+1}} (L_A f_i)(h_{i-1})``: layer ``i``'s contribution is
its own Lie derivative pushed forward through the rest of the network. It is computed by one ``jvp`` of the
whole model in which forward hooks transform only layer ``i``'s input by ``rho_{i-1}(exp(tA))`` and its output
by ``rho_i(exp(-tA))``. If the listed layers do not make up the whole forward pass (operations outside them),
the difference to the total is reported as an ``(unattributed)`` row, so the rows always sum to the total.

Hidden actions: a layer's output action comes from ``layer_representations[name]`` if given, else from the
module's ``output_representation`` attribute (a :class:`Action`), else an image action is reused for
4-d feature maps ``(B, C, H, W)`` (with the pixel spacing scaled to the map's resolution, so that a translation
moves the same physical distance at every layer), else the features are treated as invariant
(:class:`TrivialAction`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import torch
from torch import nn
from torch.func import jvp

from workbench.checks import check_tensor
from workbench.equivariance.actions import Action, ImageAction, TrivialAction
from workbench.equivariance.lie_derivative import Generator, check_representations

__all__ = ["chain_layers", "layerwise_lie_derivative", "layerwise_lee", "UNATTRIBUTED"]

UNATTRIBUTED = "(unattributed)"


def chain_layers(model: nn.Module) -> list[str]:
    """Names of the leaves of nested ``nn.Sequential`` containers of ``model``, in execution order.

    This is the default chain for attribution; for any other architecture pass the names of the modules
    that run one after the other (``dict(model.named_modules())`` keys).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")

    def walk(module: nn.Module, prefix: str) -> list[str]:
        names = []
        for name, child in module.named_children():
            full = f"{prefix}.{name}" if prefix else name
            names.extend(walk(child, full) if isinstance(child, nn.Sequential) else [full])
        return names

    if isinstance(model, nn.Sequential):
        return walk(model, "")
    children = list(model.named_children())
    if len(children) == 1 and isinstance(children[0][1], nn.Sequential):
        return walk(children[0][1], children[0][0])
    raise ValueError(
        f"cannot infer the layer chain of {type(model).__name__} (not an nn.Sequential); pass layers=[...] with "
        "the names of the modules that run one after the other"
    )


def _hidden_representation(name: str, module: nn.Module, output: torch.Tensor, x: torch.Tensor,
                           rho_in: Action, overrides: Mapping[str, Action]) -> Action:
    if name in overrides:
        return overrides[name]
    rep = getattr(module, "output_representation", None)
    if isinstance(rep, Action):
        return rep
    if isinstance(rho_in, ImageAction) and output.dim() == 4:
        # same physical extent as the input: a feature map at 1/s of the resolution has pixels s times larger
        return rho_in.at_spacing(rho_in.pixel_spacing * x.shape[-1] / output.shape[-1])
    return TrivialAction()


def _record_outputs(model: nn.Module, modules: list[nn.Module], x: torch.Tensor) -> list[torch.Tensor]:
    outputs: list[torch.Tensor | None] = [None] * len(modules)
    handles = []
    for i, module in enumerate(modules):
        def hook(_m, _inp, out, i=i):
            outputs[i] = out
        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    missing = [i for i, o in enumerate(outputs) if o is None]
    if missing:
        raise ValueError(f"layers at positions {missing} did not run in model(x); check the layers argument")
    if not all(isinstance(o, torch.Tensor) for o in outputs):
        raise TypeError("every attributed layer must return a single tensor")
    return outputs  # type: ignore[return-value]


def layerwise_lie_derivative(model: nn.Module, x: torch.Tensor, rho_in: Action,
                             rho_out: Action | None = None, generator: Generator = 0, *,
                             layers: Sequence[str] | None = None,
                             layer_representations: Mapping[str, Action] | None = None,
                             return_tensors: bool = False):
    """Each layer's contribution to the Lie derivative of ``model`` at ``x`` along one generator.

    Args:
        model: an ``nn.Module`` mapping one tensor to one tensor (``eval()`` mode for dropout / batch norm).
        x: the input; a batch is fine if the model treats samples independently.
        rho_in, rho_out: actions on inputs and outputs (``rho_out=None``: invariant).
        generator: index, name or coefficient vector of the generator.
        layers: module names forming the chain, in execution order (default :func:`chain_layers`).
        layer_representations: actions on the outputs of named layers (overrides the defaults in the module
            docstring). The last layer's output always uses ``rho_out``.
        return_tensors: also return ``{layer: contribution tensor}`` (same shape as ``model(x)``) and the total.

    Returns:
        DataFrame with one row per layer plus ``(unattributed)``, columns ``layer``, ``module`` (class name),
        ``norm`` (``||C_i||``), ``lee`` (``||C_i||^2 / numel`` per sample, averaged like the LEE),
        ``share`` (``<C_i, L> / ||L||^2``; shares sum to 1 when ``L != 0``). ``frame.attrs`` holds ``total_norm``,
        ``total_lee`` and ``sum_error`` (``||sum_i C_i - L|| / max(||L||, tiny)`` over the listed layers).
        With ``return_tensors=True``: ``(frame, contributions, total)``.
    """
    rho_in, rho_out = check_representations(rho_in, rho_out)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(x, "x", dtype="float")
    names = list(layers) if layers is not None else chain_layers(model)
    named = dict(model.named_modules())
    unknown = [n for n in names if n not in named]
    if unknown or not names:
        raise ValueError(f"layers must name modules of the model, unknown: {unknown}; known: {list(named)[1:]}")
    overrides = dict(layer_representations or {})
    modules = [named[n] for n in names]
    outputs = _record_outputs(model, modules, x)
    reps_out = [_hidden_representation(n, m, o, x, rho_in, overrides) for n, m, o in zip(names, modules, outputs)]
    reps_out[-1] = rho_out
    reps_in = [rho_in, *reps_out[:-1]]
    for name, rep in zip(names, reps_out):
        if not isinstance(rep, TrivialAction) and rep.num_generators != rho_in.num_generators:
            raise ValueError(f"the action on layer {name!r} has {rep.num_generators} generators, rho_in has "
                             f"{rho_in.num_generators}")

    direction = rho_in.direction(generator).to(dtype=x.dtype, device=x.device)
    t0 = torch.zeros((), dtype=x.dtype, device=x.device)

    def total_curve(t: torch.Tensor) -> torch.Tensor:
        theta = t * direction
        return rho_out.act(model(rho_in.act(x, theta)), -theta)

    _, total = jvp(total_curve, (t0,), (torch.ones_like(t0),))
    total = total.detach()

    contributions: dict[str, torch.Tensor] = {}
    for i, (name, module) in enumerate(zip(names, modules)):
        def curve(t: torch.Tensor, module=module, rep_in=reps_in[i], rep_out=reps_out[i]) -> torch.Tensor:
            theta = t * direction

            def pre_hook(_m, args):
                return (rep_in.act(args[0], theta), *args[1:])

            def post_hook(_m, _args, out):
                return rep_out.act(out, -theta)

            handles = [module.register_forward_pre_hook(pre_hook), module.register_forward_hook(post_hook)]
            try:
                return model(x)
            finally:
                for h in handles:
                    h.remove()

        _, c = jvp(curve, (t0,), (torch.ones_like(t0),))
        contributions[name] = c.detach()

    summed = torch.stack(list(contributions.values())).sum(0)
    residual = total - summed
    tiny = torch.finfo(total.dtype).tiny
    total_sq = (total * total).sum()
    per_sample = total.shape[0] if total.dim() > 0 else 1
    numel = max(total.numel() // per_sample, 1)

    def row(name: str, module_name: str, c: torch.Tensor) -> dict:
        flat = c.reshape(per_sample, -1)
        return {
            "layer": name,
            "module": module_name,
            "norm": float(c.norm()),
            "lee": float((flat.norm(dim=1) ** 2 / numel).mean()),
            "share": float((c * total).sum() / total_sq) if total_sq > 0 else 0.0,
        }

    rows = [row(n, type(m).__name__, contributions[n]) for n, m in zip(names, modules)]
    rows.append(row(UNATTRIBUTED, "", residual))
    frame = pd.DataFrame(rows)
    frame.attrs["total_norm"] = float(total.norm())
    frame.attrs["total_lee"] = float((total.reshape(per_sample, -1).norm(dim=1) ** 2 / numel).mean())
    frame.attrs["sum_error"] = float(residual.norm() / max(float(total.norm()), tiny))
    if return_tensors:
        return frame, contributions, total
    return frame


def layerwise_lee(model: nn.Module, x: torch.Tensor, rho_in: Action, rho_out: Action | None = None,
                  generators: Sequence[Generator] | None = None, **kwargs) -> pd.DataFrame:
    """:func:`layerwise_lie_derivative` for several generators (default: all), stacked with a ``generator`` column."""
    rho_in, rho_out = check_representations(rho_in, rho_out)
    names = list(rho_in.generator_names) if generators is None else list(generators)
    frames = []
    for gen in names:
        frame = layerwise_lie_derivative(model, x, rho_in, rho_out, gen, **kwargs)
        frame.insert(0, "generator", gen if isinstance(gen, str) else str(gen))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
