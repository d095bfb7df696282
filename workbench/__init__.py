"""Equivariant Workbench: compute package (groups, layers, kernels, models, data, training).

Nothing in ``workbench`` imports Jupyter or plotting libraries; widgets live in ``widgets``.
"""

__version__ = "0.1.0"
