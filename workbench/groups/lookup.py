"""Groups by name and irreps from user input: :func:`by_name` and :func:`as_irreps`.

``by_name("SU(3)")`` returns a group instance; :func:`as_irreps` is how layers read an ``irreps`` argument
(a plain string means O(3) irreps in the e3nn notation, ``"16x0e+8x1o"``, unless ``group=`` names another group).
"""

from __future__ import annotations

import re
from typing import Any

from workbench.groups.group import LieGroup
from workbench.groups.irreps import Irreps
from workbench.groups.lorentz import Lorentz
from workbench.groups.o3 import irreps as o3_irreps
from workbench.groups.orthogonal import SO, O
from workbench.groups.so2 import O2, SO2
from workbench.groups.su2 import SU2
from workbench.groups.su3 import SU3
from workbench.groups.symplectic import Sp

__all__ = ["as_irreps", "by_name"]

ACCEPTED_NAMES = ("O(3)", "SO(3)", "SU(2)", "SU(3)", "Lorentz", "SO(1,3)", "SO(2)", "O(2)", "SO(d)", "O(d)",
                  "Sp(2n)")

_FIXED = {
    "O(3)": o3_irreps.O3,
    "SO(3)": o3_irreps.SO3,
    "SU(2)": SU2,
    "SU(3)": SU3,
    "LORENTZ": Lorentz,
    "SO(1,3)": Lorentz,
    "SO+(1,3)": Lorentz,
    "SO(2)": SO2,
    "O(2)": O2,
}
_FAMILY = re.compile(r"^(SO|O|SP)\((\d+)\)$")


def by_name(name: str) -> LieGroup:
    """The group called ``name``: ``"O(3)"``, ``"SO(3)"`` (both in the e3nn basis), ``"SU(2)"``, ``"SU(3)"``,
    ``"Lorentz"`` (also ``"SO(1,3)"``, ``"SO+(1,3)"``), ``"SO(2)"``, ``"O(2)"``, ``"SO(d)"``, ``"O(d)"`` (d >= 3),
    ``"Sp(2n)"``. Case and spaces are ignored. Unknown names raise ``ValueError`` listing the accepted forms.

    Examples:
        >>> from workbench.groups import by_name
        >>> by_name("Lorentz").irrep("(1/2,1/2)").dim
        4
        >>> by_name("su(3)").decompose("3", "3bar")
        [((0, 0), 1), ((1, 1), 1)]
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string like 'SU(3)', got {type(name).__name__}")
    key = re.sub(r"\s+", "", name).upper()
    if key in _FIXED:
        return _FIXED[key]()
    match = _FAMILY.match(key)
    if match is not None:
        family, n = match.group(1), int(match.group(2))
        if family == "SP":
            if n < 2 or n % 2:
                raise ValueError(f"Sp(2n) needs an even size >= 2, got {name!r}")
            return Sp(n)
        if n >= 3:
            return SO(n) if family == "SO" else O(n)
    raise ValueError(f"unknown group name {name!r}; accepted: {', '.join(ACCEPTED_NAMES)} (d >= 2, n >= 1)")


def as_irreps(irreps: Any, group: LieGroup | str | None = None) -> Irreps:
    """Read an irreps argument as :class:`Irreps`.

    ``irreps`` is an :class:`Irreps` (returned as is; it must belong to ``group`` when ``group`` is given), or a
    spec parsed for ``group``: ``None`` means O(3) in the e3nn notation (``"16x0e+8x1o"``), a string is passed
    to :func:`by_name`, a group instance is used directly. Invalid specs raise ``ValueError`` naming the form.
    """
    if isinstance(group, str):
        group = by_name(group)
    if group is not None and not isinstance(group, LieGroup):
        raise TypeError(f"group must be None (O(3)), a group name or a workbench.groups group, got {group!r}")
    if isinstance(irreps, Irreps):
        if group is not None and irreps.group != group:
            raise ValueError(f"irreps {irreps} belong to {irreps.group.name}, not to group={group.name}")
        return irreps
    if group is None:
        try:
            return o3_irreps.Irreps(irreps)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"irreps={irreps!r} is not a valid O(3) irreps specification; expected e.g. '16x0e+8x1o+4x2e' "
                f"(or pass group= for another group): {exc}"
            ) from exc
    return Irreps(group, irreps)
