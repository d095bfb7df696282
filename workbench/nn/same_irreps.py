"""Layers whose output has the irreps of their input (norms, dropout, norm activations)."""

from __future__ import annotations

from workbench.groups import Irreps

__all__ = ["SameIrreps"]


class SameIrreps:
    """Mixin for a layer that stores ``self.irreps`` and maps ``[..., irreps.dim]`` to the same irreps: exposes
    ``irreps_in`` and ``irreps_out`` (both ``self.irreps``) like every other layer of :mod:`workbench.nn`."""

    irreps: Irreps

    @property
    def irreps_in(self) -> Irreps:
        """The input irreps (``self.irreps``)."""
        return self.irreps

    @property
    def irreps_out(self) -> Irreps:
        """The output irreps (``self.irreps``: the layer preserves them)."""
        return self.irreps
