"""PhiSNet-style prediction of Kohn-Sham Hamiltonian (Fock) and overlap matrices in an atomic-orbital basis
(Unke et al., "SE(3)-equivariant prediction of molecular wavefunctions and electronic densities", NeurIPS 2021,
arXiv 2106.02347), built from the project's layers.

Pipeline of the model, for molecules with atomic numbers ``z`` and positions ``pos`` (Å)::

    x_i   = NequIP-style interactions (EquivariantConvolution + Gate + species self-connection), irreps
            channels x (0e + 1o + ... + lmax)                                              atom features
    p_ij  = FCTP(x_i, x_j) + Linear( x_i (x) Y(r_ij), radial weights(|r_ij|) )    i != j   pair features
    p_ii  = FCTP(x_i, x_i) + Linear(x_i)                                                    on-site features
    f_ij  = Linear_{Z_i Z_j}(p_ij)  ->  for every shell pair (a on i, b on j) of degrees (l1, l2), one irrep of each
            degree l in |l1 - l2| .. l1 + l2 with parity (-1)^(l1 + l2)
    G_ij[a, b] = sum_l sqrt(2 l + 1) wigner_3j(l1, l2, l) . f_ij[a, b, l]                  (Clebsch-Gordan)
    H = scale * (G + G^T) / 2 + R_onsite + R_bond,      S likewise (separate heads)

so every block transforms as ``D^{l1}(R) G_ij[a, b] D^{l2}(R)^T`` and ``H`` as ``D(R) H D(R)^T`` (reflections
included, AO parity ``(-1)^l``); ``H`` and ``S`` are symmetric by construction, and permuting atoms permutes the
blocks. ``R_onsite`` is an exactly invariant per-element reference (a multiple of the identity on every pair of
shells of equal degree on one atom), fitted to training data by :meth:`PhiSNet.fit_reference` together with the
output ``scale``. ``R_bond`` (:class:`BondReference`, on by default) is an exactly equivariant least-squares fit
of every block to polynomials in the bond length times spherical harmonics of the bond direction (pair blocks from
their own bond, on-site blocks summed over neighbours), fitted by ``fit_reference`` when it gets the training
conformations; the network learns the rest. Without it the network has to produce the whole distance dependence of
the off-diagonal blocks (on the shipped water set, H MAE of the references alone 0.119 Eh without ``R_bond``,
0.0063 Eh with it; S 0.068 -> 3e-5), and at equal training budget ends 30x worse (see the README).
Compared with the paper: no SE(3)-equivariant attention-free
"selfmix/pairmix" blocks with spherical linear layers of its own, smaller features, and training on a few dozen
conformations (see the pipeline).

Matrices are over the AOs of each molecule in the project's (e3nn) AO order: atom after atom, the element's shells
(``shells[z]``, e.g. def2-SVP O ``(0, 0, 0, 1, 1, 2)``) in order, each shell's ``2l+1`` components in the e3nn
basis. A batch of molecules gives ``[B, n_max, n_max]`` with zero padding beyond each molecule's ``n_ao``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from workbench.checks import check_tensor
from workbench.groups import o3
from workbench.nn._constants import ConstantsMixin
from workbench.nn.activation import Gate
from workbench.nn.convolution import EquivariantConvolution, edge_tensor_product
from workbench.nn.graph import radius_graph
from workbench.nn.linear import Linear
from workbench.nn.radial import BesselBasis, PolynomialCutoff, RadialMLP
from workbench.nn.spherical_harmonics import SphericalHarmonics
from workbench.nn.tensor_product import FullyConnectedTensorProduct

__all__ = ["PhiSNet", "BondReference", "block_irreps", "block_assembly_matrix"]


def _ir(l: int, p: int) -> o3.Irrep:
    return o3.Irrep(l, p)


def block_irreps(shells_i: Sequence[int], shells_j: Sequence[int]) -> o3.Irreps:
    """Irreps that make up the AO block between an atom with shells ``shells_i`` and one with ``shells_j``: for each
    shell pair (row-major) and each ``l`` in ``|l1-l2| .. l1+l2``, one ``l`` with parity ``(-1)^(l1+l2)``.

    Example:
        >>> block_irreps((0, 1), (1,))
        1x1o+1x0e+1x1e+1x2e
    """
    out = []
    for l1 in shells_i:
        for l2 in shells_j:
            out += [(1, _ir(l, (-1) ** (l1 + l2))) for l in range(abs(l1 - l2), l1 + l2 + 1)]
    return o3.Irreps(out)


def block_assembly_matrix(shells_i: Sequence[int], shells_j: Sequence[int], dtype=torch.float64) -> torch.Tensor:
    """``M [block_irreps.dim, n_i * n_j]``: ``(f @ M).reshape(n_i, n_j)`` is the AO block whose ``(l1, l2)`` shell
    block is ``sum_l sqrt(2l+1) sum_m wigner_3j(l1, l2, l)[:, :, m] f_l[m]`` (unit-variance features give
    block entries of variance about 1)."""
    n_i = sum(2 * l + 1 for l in shells_i)
    n_j = sum(2 * l + 1 for l in shells_j)
    M = torch.zeros(block_irreps(shells_i, shells_j).dim, n_i, n_j, dtype=torch.float64)
    k, r0 = 0, 0
    for l1 in shells_i:
        c0 = 0
        for l2 in shells_j:
            for l in range(abs(l1 - l2), l1 + l2 + 1):
                w = o3.wigner_3j(l1, l2, l, dtype=torch.float64) * (2 * l + 1) ** 0.5
                M[k:k + 2 * l + 1, r0:r0 + 2 * l1 + 1, c0:c0 + 2 * l2 + 1] = w.permute(2, 0, 1)
                k += 2 * l + 1
            c0 += 2 * l2 + 1
        r0 += 2 * l1 + 1
    return M.reshape(M.shape[0], n_i * n_j).to(dtype)


class BondReference(ConstantsMixin):
    """An exactly equivariant reference for the AO blocks of one matrix (``H`` or ``S``), linear in its parameters
    and fitted by least squares (:meth:`fit`), which the network then only has to correct.

    Every irrep slot of degree ``l`` of an ``(l1, l2)`` shell block whose parity ``(-1)^(l1+l2)`` equals ``(-1)^l``
    (the ones a bond direction can carry) is ``c(r) Y^l(r_hat)``: ``Y^l`` the unit-norm spherical harmonics of the
    bond direction, ``c(r) = cutoff(r) sum_k c_k u^k`` a polynomial of degree ``degree`` in the distance ``r``
    clamped to the range seen in fitting and scaled to ``u`` in ``[-1, 1]``. A pair block ``(i, j)`` uses the bond
    ``i -> j`` with coefficients per element pair; an on-site block of atom ``i`` sums the same form over its
    neighbours ``j`` with coefficients per (element of ``i``, element of ``j``). The blocks are assembled with the
    CG matrices of :func:`block_assembly_matrix`, so the reference transforms exactly as ``D M D^T`` and depends on
    atoms only through their elements (permutation equivariant). Zero until fitted.
    """

    def __init__(self, shells: Mapping[int, tuple[int, ...]], r_cut: float, degree: int = 2) -> None:
        super().__init__()
        self._init_constants()
        self.shells, self.elements = dict(shells), tuple(shells)
        self.degree = int(degree)
        self.cutoff = PolynomialCutoff(r_cut)
        self.L = 2 * max(max(ls) for ls in self.shells.values())
        n_el, K = len(self.elements), self.degree + 1
        self.register_buffer("distance_range", torch.tensor([0.0, float(r_cut)]).repeat(n_el, n_el, 1))
        self.slots: dict[tuple[int, int], list[tuple[int, int, int, bool]]] = {}
        for zi in self.elements:
            for zj in self.elements:
                slots, k = [], 0
                for mul_ir in block_irreps(self.shells[zi], self.shells[zj]):
                    l, p = mul_ir.ir.l, mul_ir.ir.p
                    slots.append((l, k, k + 2 * l + 1, p == (-1) ** l))
                    k += 2 * l + 1
                self.slots[(zi, zj)] = slots
                self.register_constant(f"assembly_{zi}_{zj}", block_assembly_matrix(self.shells[zi], self.shells[zj]))
        for zi in self.elements:
            for zj in self.elements:
                self.register_buffer(f"pair_{zi}_{zj}", torch.zeros(len(self.slots[(zi, zj)]), K))
                self.register_buffer(f"site_{zi}_{zj}", torch.zeros(len(self.slots[(zi, zi)]), K))

    @torch.no_grad()
    def reset(self) -> None:
        """Back to zero (unfitted)."""
        for name, buf in self.named_buffers(recurse=False):
            if name.startswith(("pair_", "site_")):
                buf.zero_()
        self.distance_range[..., 0] = 0.0
        self.distance_range[..., 1] = self.cutoff.r_max

    def design(self, si: int, sj: int, r: torch.Tensor) -> torch.Tensor:
        """``[P, degree + 1]``: ``cutoff(r) u^k``, ``u`` the distance clamped to the fitted range of species
        ``(si, sj)`` and mapped to ``[-1, 1]``."""
        lo, hi = self.distance_range[si, sj].to(r.dtype).unbind()
        half = torch.clamp((hi - lo) / 2, min=1e-3)
        u = (torch.minimum(torch.maximum(r, lo), hi) - (lo + hi) / 2) / half
        return torch.stack([u.pow(k) for k in range(self.degree + 1)], dim=-1) * self.cutoff(r)[:, None]

    def harmonics(self, vec: torch.Tensor) -> torch.Tensor:
        """Unit-norm ``Y^0..Y^L`` of the bond directions ``[P, 3]`` -> ``[P, (L + 1)^2]``."""
        return o3.spherical_harmonics(list(range(self.L + 1)), vec, normalize=True, normalization="norm")

    def features(self, key: tuple[int, int], coef: torch.Tensor, B: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        """Irrep features ``[P, block dim]`` of the slots of ``key`` from ``B [P, K]`` and ``Y [P, (L+1)^2]``."""
        a = B @ coef.to(B.dtype).T
        out = B.new_zeros(B.shape[0], self.slots[key][-1][2])
        for s, (l, start, stop, usable) in enumerate(self.slots[key]):
            if usable:
                out[:, start:stop] = a[:, s:s + 1] * Y[:, l * l:(l + 1) ** 2]
        return out

    def pair_block(self, zi: int, zj: int, B: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        """Pair blocks ``[P, n_i * n_j]`` (row atom of element ``zi``)."""
        feats = self.features((zi, zj), getattr(self, f"pair_{zi}_{zj}"), B, Y)
        return feats @ getattr(self, f"assembly_{zi}_{zj}").to(B.dtype)

    def site_features(self, zi: int, zj: int, B: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        """On-site irrep features of atoms of element ``zi`` from neighbours of element ``zj``, per pair."""
        return self.features((zi, zi), getattr(self, f"site_{zi}_{zj}"), B, Y)

    @torch.no_grad()
    def fit(self, species: torch.Tensor, pos: torch.Tensor, M: torch.Tensor, offsets: torch.Tensor,
            nfun: torch.Tensor, r_cut: float) -> None:
        """Least-squares fit on conformations ``pos [N, A, 3]`` of one molecule (``species [A]``) to the matrices
        ``M [N, n, n]`` (on-site blocks with their constant reference already removed); AO ``offsets [A + 1]``."""
        N, A = pos.shape[:2]
        pos = pos.double()
        M = M.double()
        flat = pos.reshape(N * A, 3)
        batch = torch.arange(N).repeat_interleave(A)
        edges, _ = radius_graph(flat, r_cut, batch)
        gi, gj = edges[1], edges[0]
        vec = flat[gj] - flat[gi]
        r = vec.norm(dim=-1)
        Y = self.harmonics(vec)
        conf, ai, aj = gi // A, gi % A, gj % A
        si_all, sj_all = species[ai], species[aj]
        n_el = len(self.elements)
        for si in range(n_el):
            for sj in range(n_el):
                sel = (si_all == si) & (sj_all == sj)
                if bool(sel.any()):
                    self.distance_range[si, sj, 0] = float(r[sel].min())
                    self.distance_range[si, sj, 1] = float(r[sel].max())
        for si, zi in enumerate(self.elements):
            ni = int(nfun[si])
            for sj, zj in enumerate(self.elements):
                sel = ((si_all == si) & (sj_all == sj)).nonzero().flatten()
                if sel.numel() == 0:
                    continue
                nj = int(nfun[sj])
                rows = offsets[ai[sel]][:, None] + torch.arange(ni)
                cols = offsets[aj[sel]][:, None] + torch.arange(nj)
                T = M[conf[sel][:, None, None], rows[:, :, None], cols[:, None, :]].reshape(len(sel), -1)
                f = T @ torch.linalg.pinv(self._constant_masters[f"assembly_{zi}_{zj}"].double())
                B = self.design(si, sj, r[sel]).double()
                slots = self.slots[(zi, zj)]
                use = [s for s, sl in enumerate(slots) if sl[3]]
                targets = torch.stack([(f[:, slots[s][1]:slots[s][2]] * Y[sel, slots[s][0] ** 2:
                                                                          (slots[s][0] + 1) ** 2]).sum(-1)
                                       for s in use], dim=1)
                coef = torch.linalg.lstsq(B, targets, driver="gelsd").solution  # [K, S]
                buf = getattr(self, f"pair_{zi}_{zj}")
                buf.zero_()
                buf[use] = coef.T.to(buf.dtype)
            # on-site blocks of atoms of element zi: sum over neighbours, all neighbour elements fitted jointly
            centers = (species == si).nonzero().flatten()
            if centers.numel() == 0:
                continue
            key = (zi, zi)
            slots = self.slots[key]
            Minv = torch.linalg.pinv(self._constant_masters[f"assembly_{zi}_{zi}"].double())
            rows = offsets[centers][:, None] + torch.arange(ni)  # [C, ni]
            T = M[:, rows[:, :, None], rows[:, None, :]].reshape(N * len(centers), -1)
            f = T @ Minv  # [N * C, dim], row = conf * C + center
            center_of_atom = torch.full((A,), -1, dtype=torch.long)
            center_of_atom[centers] = torch.arange(len(centers))
            K = self.degree + 1
            sel = (si_all == si).nonzero().flatten()
            row_of_pair = conf[sel] * len(centers) + center_of_atom[ai[sel]]
            Bs = torch.zeros(len(sel), n_el, K, dtype=torch.float64)
            for sj in range(n_el):
                m = sj_all[sel] == sj
                if bool(m.any()):
                    Bs[m, sj] = self.design(si, sj, r[sel][m]).double()
            for l in sorted({sl[0] for sl in slots if sl[3]}):
                use = [s for s, sl in enumerate(slots) if sl[3] and sl[0] == l]
                Yl = Y[sel, l * l:(l + 1) ** 2]  # [P, 2l+1]
                X = torch.zeros(N * len(centers), 2 * l + 1, n_el * K, dtype=torch.float64)
                X.index_add_(0, row_of_pair, (Yl[:, :, None] * Bs.reshape(len(sel), 1, n_el * K)))
                targets = torch.stack([f[:, slots[s][1]:slots[s][2]] for s in use], dim=-1)  # [R, 2l+1, S]
                coef = torch.linalg.lstsq(X.reshape(-1, n_el * K), targets.reshape(-1, len(use)),
                                          driver="gelsd").solution.reshape(n_el, K, len(use))
                for sj, zj in enumerate(self.elements):
                    buf = getattr(self, f"site_{zi}_{zj}")
                    buf[use] = coef[sj].T.to(buf.dtype)

    def matrix(self, species, i, j, vec, r, batch, local, nfun, nmax: int, B: int) -> torch.Tensor:
        """The symmetric reference ``[B, nmax, nmax]`` for the pairs ``(i, j)`` (row atom ``i``, ``vec = pos[j] -
        pos[i]``, ``r = |vec|``) of a batch (``local``: AO offset of each atom in its molecule)."""
        G = vec.new_zeros(B * nmax * nmax)
        Y = self.harmonics(vec)
        site = {}
        for si, zi in enumerate(self.elements):
            ni = int(nfun[si])
            for sj, zj in enumerate(self.elements):
                sel = ((species[i] == si) & (species[j] == sj)).nonzero().flatten()
                if sel.numel() == 0:
                    continue
                Bd = self.design(si, sj, r[sel])
                blocks = self.pair_block(zi, zj, Bd, Y[sel])
                G = _scatter_blocks(G, blocks, i[sel], j[sel], ni, int(nfun[sj]), batch, local, nmax)
                feats = self.site_features(zi, zj, Bd, Y[sel])
                acc = site.setdefault(si, vec.new_zeros(species.shape[0], feats.shape[1]))
                site[si] = acc.index_add(0, i[sel], feats)
        for si, feats in site.items():
            zi, ni = self.elements[si], int(nfun[si])
            atoms = (species == si).nonzero().flatten()
            blocks = feats[atoms] @ getattr(self, f"assembly_{zi}_{zi}").to(vec.dtype)
            G = _scatter_blocks(G, blocks, atoms, atoms, ni, ni, batch, local, nmax)
        G = G.view(B, nmax, nmax)
        return 0.5 * (G + G.transpose(1, 2))


def _scatter_blocks(G, blocks, ii, jj, ni: int, nj: int, batch, local, nmax: int):
    """Add ``blocks [P, ni * nj]`` at rows of atom ``ii`` and columns of atom ``jj`` of the flat ``[B*nmax*nmax]``."""
    rows = local[ii][:, None] + torch.arange(ni, device=G.device)
    cols = local[jj][:, None] + torch.arange(nj, device=G.device)
    flat = (batch[ii][:, None, None] * nmax + rows[:, :, None]) * nmax + cols[:, None, :]
    return G.index_add(0, flat.reshape(-1), blocks.reshape(-1))


class _Interaction(torch.nn.Module):
    def __init__(self, irreps_in, irreps_hidden, num_elements, sh_lmax, r_max, num_basis, radial_hidden, avg):
        super().__init__()
        self.gate = Gate.from_irreps(irreps_hidden)
        self.conv = EquivariantConvolution(irreps_in, self.gate.irreps_in, lmax=sh_lmax, r_max=r_max,
                                           num_basis=num_basis, radial_hidden=radial_hidden, avg_num_neighbors=avg)
        self.self_connection = FullyConnectedTensorProduct(irreps_in, f"{num_elements}x0e", self.gate.irreps_in)
        self.residual = o3.Irreps(irreps_in) == o3.Irreps(self.gate.irreps_out)
        self.irreps_out = o3.Irreps(self.gate.irreps_out)

    def forward(self, h, onehot, pos, edge_index):
        out = self.gate(self.conv(h, pos, edge_index) + self.self_connection(h, onehot))
        return h + out if self.residual else out


class _Head(ConstantsMixin):
    """Per element pair: Linear(pair features -> block irreps), then the fixed CG assembly (float64 masters)."""

    def __init__(self, irreps_pair: o3.Irreps, shells: Mapping[int, tuple[int, ...]], onsite: bool):
        super().__init__()
        self._init_constants()
        self.linears = torch.nn.ModuleDict()
        self.keys: list[tuple[int, int]] = []
        for zi in shells:
            for zj in shells:
                if onsite and zi != zj:
                    continue
                key = f"{zi}_{zj}"
                wanted = block_irreps(shells[zi], shells[zj])
                self.linears[key] = Linear(irreps_pair, wanted)
                self.register_constant(f"assembly_{key}", block_assembly_matrix(shells[zi], shells[zj]))
                self.keys.append((zi, zj))

    def block(self, zi: int, zj: int, p: torch.Tensor) -> torch.Tensor:
        key = f"{zi}_{zj}"
        M = getattr(self, f"assembly_{key}").to(p.dtype)
        return self.linears[key](p) @ M


class PhiSNet(torch.nn.Module):
    """Equivariant Fock (``H``) and overlap (``S``) matrices from geometry (module docstring).

    Args:
        shells: atomic number -> degrees of its AO shells in layout order (an ``OrbitalBasis.shells``, e.g.
            ``workbench.hamiltonian.DEF2_SVP.shells``); elements outside it are rejected.
        channels: multiplicity of each irrep of the atom features; ``lmax`` their highest degree.
        pair_channels: multiplicity of each irrep of the pair features (every degree up to ``2 * max shell l``,
            both parities).
        num_layers: interaction blocks; ``sh_lmax``: degree of the edge spherical harmonics.
        r_max: cutoff (Å) of the message passing; ``r_pair``: pairs farther apart get zero off-diagonal blocks.
        min_distance: atoms closer than this (Å) are rejected as overlapping.
        bond_reference: add a :class:`BondReference` for ``H`` and for ``S`` (fitted by :meth:`fit_reference`
            when it is given conformations), so that the network learns only what that equivariant least-squares
            fit misses; ``reference_degree`` is its polynomial degree in the distance.

    ``forward(z [A], pos [A, 3], batch [A] | None, num_graphs | None) -> (H, S)``, each ``[B, n_max, n_max]``.

    Example:
        >>> model = PhiSNet({1: (0, 0, 1), 8: (0, 0, 0, 1, 1, 2)}, channels=4, pair_channels=2, num_layers=1)
        >>> z, pos = torch.tensor([8, 1, 1]), torch.tensor([[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47]])
        >>> H, S = model(z, pos)
        >>> H.shape, bool((H == H.transpose(1, 2)).all())
        (torch.Size([1, 24, 24]), True)
    """

    def __init__(self, shells: Mapping[int, Sequence[int]], channels: int = 16, lmax: int = 2,
                 pair_channels: int = 8, num_layers: int = 2, sh_lmax: int = 2, r_max: float = 5.0,
                 r_pair: float = 8.0, num_basis: int = 8, radial_hidden: Sequence[int] = (32,),
                 avg_num_neighbors: float = 4.0, min_distance: float = 0.5, bond_reference: bool = True,
                 reference_degree: int = 2) -> None:
        super().__init__()
        if not isinstance(shells, Mapping) or not shells:
            raise ValueError("shells must map atomic numbers to tuples of shell degrees, e.g. {1: (0, 0, 1)}")
        self.shells = {int(z): tuple(int(l) for l in ls) for z, ls in sorted(shells.items())}
        for z, ls in self.shells.items():
            if z < 1 or not ls or min(ls) < 0:
                raise ValueError(f"shells[{z}] = {ls}: need an atomic number >= 1 and degrees >= 0")
        for name, v in (("channels", channels), ("pair_channels", pair_channels), ("num_layers", num_layers),
                        ("lmax", lmax), ("sh_lmax", sh_lmax)):
            if int(v) < 1:
                raise ValueError(f"{name} must be >= 1, got {v}")
        if not (r_max > 0 and r_pair > 0 and min_distance >= 0):
            raise ValueError(f"need r_max > 0, r_pair > 0, min_distance >= 0; got {r_max}, {r_pair}, {min_distance}")
        self.elements = tuple(self.shells)
        self.r_max, self.r_pair, self.min_distance = float(r_max), float(r_pair), float(min_distance)
        n_el = len(self.elements)
        table = torch.full((max(self.elements) + 1,), -1, dtype=torch.long)
        table[list(self.elements)] = torch.arange(n_el)
        self.register_buffer("_species_of_z", table, persistent=False)
        nfun = torch.tensor([sum(2 * l + 1 for l in self.shells[z]) for z in self.elements])
        self.register_buffer("_num_functions", nfun, persistent=False)

        # atom features
        self.irreps_hidden = o3.Irreps.natural(int(channels), int(lmax))
        self.embedding = Linear(f"{n_el}x0e", f"{channels}x0e")
        irreps, blocks = o3.Irreps(f"{channels}x0e"), []
        for _ in range(int(num_layers)):
            blk = _Interaction(irreps, self.irreps_hidden, n_el, int(sh_lmax), self.r_max, num_basis, radial_hidden,
                               avg_num_neighbors)
            blocks.append(blk)
            irreps = blk.irreps_out
        self.blocks = torch.nn.ModuleList(blocks)
        self.irreps_atom = irreps

        # pair features: every degree up to 2 * max shell degree, both parities
        L = 2 * max(max(ls) for ls in self.shells.values())
        self.irreps_pair = o3.Irreps([(int(pair_channels), _ir(l, p)) for l in range(L + 1) for p in (1, -1)])
        self.pair_product = FullyConnectedTensorProduct(irreps, irreps, self.irreps_pair)
        self.sh = SphericalHarmonics(o3.Irreps.spherical_harmonics(min(L, 4)))
        self.edge_tp = edge_tensor_product(irreps, self.sh.irreps_out, self.irreps_pair)
        self.edge_linear = Linear(self.edge_tp.irreps_out, self.irreps_pair)
        self.radial_basis = BesselBasis(self.r_pair, num_basis, normalize=True)
        self.cutoff = PolynomialCutoff(self.r_pair)
        self.radial = RadialMLP([num_basis, *radial_hidden, self.edge_tp.weight_numel])
        self.onsite_product = FullyConnectedTensorProduct(irreps, irreps, self.irreps_pair)
        self.onsite_linear = Linear(irreps, self.irreps_pair)

        self.heads = torch.nn.ModuleDict({
            "H_pair": _Head(self.irreps_pair, self.shells, onsite=False),
            "H_onsite": _Head(self.irreps_pair, self.shells, onsite=True),
            "S_pair": _Head(self.irreps_pair, self.shells, onsite=False),
            "S_onsite": _Head(self.irreps_pair, self.shells, onsite=True),
        })
        nmax = int(nfun.max())
        self.register_buffer("reference_H", torch.zeros(n_el, nmax, nmax))
        self.register_buffer("reference_S", torch.zeros(n_el, nmax, nmax))
        self.register_buffer("scale_H", torch.ones(()))
        self.register_buffer("scale_S", torch.ones(()))
        if int(reference_degree) < 0:
            raise ValueError(f"reference_degree must be >= 0, got {reference_degree}")
        self.bond_reference = torch.nn.ModuleDict({
            name: BondReference(self.shells, self.r_pair, int(reference_degree)) for name in ("H", "S")
        }) if bond_reference else None

    # ------------------------------------------------------------------------------------------------ inputs
    def species(self, z: torch.Tensor) -> torch.Tensor:
        """Species index ``[A]``; ValueError naming elements the model (its AO basis) does not cover."""
        check_tensor(z, "z", shape=("A",), dtype="int", hint="atomic numbers")
        z = z.long()
        size = self._species_of_z.shape[0]
        s = self._species_of_z[z.clamp(0, size - 1)]
        bad = (z < 0) | (z >= size) | (s < 0)
        if bool(bad.any()):
            raise ValueError(f"z: atomic numbers {sorted({int(v) for v in z[bad]})} are not in this model's AO basis "
                             f"(elements {list(self.elements)})")
        return s

    def _check(self, z, pos, batch, num_graphs):
        species = self.species(z)
        check_tensor(pos, "pos", shape=(z.shape[0], 3), dtype="float", finite=True, hint="Å, one row per atom")
        if batch is None:
            batch = torch.zeros(z.shape[0], dtype=torch.long, device=pos.device)
        check_tensor(batch, "batch", shape=(z.shape[0],), dtype="int", hint="molecule index of every atom")
        batch = batch.long()
        if z.shape[0] == 0:
            raise ValueError("z: a molecule needs at least one atom")
        if num_graphs is None:
            num_graphs = int(batch.max()) + 1
        if bool((batch[1:] < batch[:-1]).any()) or int(batch.max()) >= num_graphs or int(batch.min()) < 0:
            raise ValueError(f"batch must be sorted molecule indices in [0, {num_graphs}) (atoms of a molecule "
                             "contiguous)")
        same = batch[:, None] == batch[None, :]
        d = torch.cdist(pos.detach(), pos.detach())
        d = d + torch.eye(len(z), dtype=d.dtype, device=d.device) * 1e9 + (~same) * 1e9
        if len(z) > 1 and float(d.min()) < self.min_distance:
            i, j = divmod(int(d.argmin()), len(z))
            raise ValueError(f"pos: atoms {i} and {j} are {float(d.min()):.3g} Å apart, closer than min_distance="
                             f"{self.min_distance} Å (overlapping atoms)")
        return species, batch, int(num_graphs)

    def num_orbitals(self, z: torch.Tensor, batch: torch.Tensor | None = None, num_graphs: int | None = None
                     ) -> torch.Tensor:
        """AOs per molecule ``[B]`` (long)."""
        species = self.species(z)
        if batch is None:
            batch = torch.zeros_like(species)
        n = int(batch.max()) + 1 if num_graphs is None else int(num_graphs)
        return torch.zeros(n, dtype=torch.long, device=z.device).index_add(0, batch.long(),
                                                                           self._num_functions[species])

    # ------------------------------------------------------------------------------------------------ reference
    def _onsite_invariant(self, z: int, block: torch.Tensor) -> torch.Tensor:
        """The identity-on-equal-degree-shell-pairs projection of an on-site block ``[..., n, n]``."""
        out = torch.zeros_like(block)
        ls, offs = self.shells[z], []
        k = 0
        for l in ls:
            offs.append(k)
            k += 2 * l + 1
        for a, la in enumerate(ls):
            for b, lb in enumerate(ls):
                if la != lb:
                    continue
                sub = block[..., offs[a]:offs[a] + 2 * la + 1, offs[b]:offs[b] + 2 * lb + 1]
                tr = sub.diagonal(dim1=-2, dim2=-1).sum(-1) / (2 * la + 1)
                eye = torch.eye(2 * la + 1, dtype=block.dtype, device=block.device)
                out[..., offs[a]:offs[a] + 2 * la + 1, offs[b]:offs[b] + 2 * lb + 1] = tr[..., None, None] * eye
        return out

    @torch.no_grad()
    def fit_reference(self, z: torch.Tensor, H: torch.Tensor, S: torch.Tensor, pos: torch.Tensor | None = None
                      ) -> None:
        """Fit the on-site reference and the output scales from training matrices of one molecule.

        ``z [A]``, ``H``, ``S`` ``[N, n, n]`` (project AO order). The reference of element ``Z`` is the mean over
        its atoms and the ``N`` conformations of the invariant on-site part; the scales are the standard
        deviations of what remains. With the conformations ``pos [N, A, 3]`` (Å) the bond references (when the model
        has them) are fitted by least squares to what the on-site reference leaves, the scales become the standard
        deviations of what both references leave, divided by that of the untrained network's output on (up to 16
        of) them (a data-dependent initialization: the network part then starts at the size of the residual).
        Without ``pos`` the bond references are reset to zero.
        """
        species = self.species(z)
        n = int(self._num_functions[species].sum())
        for name, M in (("H", H), ("S", S)):
            check_tensor(M, name, shape=("N", n, n), dtype="float", finite=True, hint=f"{n} AOs of this molecule")
        offs = torch.cat([torch.zeros(1, dtype=torch.long), self._num_functions[species].cumsum(0)])
        for name, M in (("H", H), ("S", S)):
            ref = getattr(self, f"reference_{name}")
            ref.zero_()
            for s in species.unique():
                zz = self.elements[int(s)]
                atoms = (species == s).nonzero().flatten().tolist()
                nf = int(self._num_functions[s])
                blocks = torch.stack([M[:, offs[a]:offs[a] + nf, offs[a]:offs[a] + nf] for a in atoms])
                # project the float64 mean block (not the mean of projections: a float32 mean over many blocks
                # rounds the diagonal entries differently and leaves a reference that is not exactly c * I)
                ref[int(s), :nf, :nf] = self._onsite_invariant(zz, blocks.double().mean(dim=(0, 1))).to(ref.dtype)
            resid = M.to(ref.dtype) - self._reference_matrix(species, offs, n, ref)
            getattr(self, f"scale_{name}").fill_(float(resid.std()))
        if self.bond_reference is not None:
            for br in self.bond_reference.values():
                br.reset()
        if pos is not None:
            check_tensor(pos, "pos", shape=("N", len(z), 3), dtype="float", finite=True, hint="Å, conformations")
            if self.bond_reference is not None:
                for name, M in (("H", H), ("S", S)):
                    const = self._reference_matrix(species, offs, n, getattr(self, f"reference_{name}")).double()
                    self.bond_reference[name].fit(species, pos, M.double() - const, offs, self._num_functions,
                                                  self.r_pair)
            N, A = pos.shape[:2]
            batch = torch.arange(N, device=pos.device).repeat_interleave(A)
            flat_z, flat_pos = z.repeat(N), pos.reshape(N * A, 3).to(self.reference_H.dtype)
            # scales: the spread of what the references leave, then of the untrained network's output
            for nm in ("H", "S"):
                getattr(self, f"scale_{nm}").fill_(1.0)
            Hr, Sr = self._references(flat_z, flat_pos, batch, N)
            for nm, M, R in (("H", H, Hr), ("S", S, Sr)):
                getattr(self, f"scale_{nm}").fill_(float((M.to(R.dtype) - R).std()))
            k = min(N, 16)
            out = self(z.repeat(k), flat_pos[:k * A], batch[:k * A], k)
            for nm, M, R in zip(("H", "S"), out, (Hr[:k], Sr[:k])):
                spread = float((M - R).std()) / float(getattr(self, f"scale_{nm}"))
                if spread > 0:
                    getattr(self, f"scale_{nm}").div_(spread)

    @torch.no_grad()
    def _references(self, z, pos, batch, num_graphs):
        """The references alone (on-site constants + bond references), ``(H_ref, S_ref)`` ``[B, n_max, n_max]``."""
        scales = (self.scale_H.clone(), self.scale_S.clone())
        self.scale_H.zero_()
        self.scale_S.zero_()
        try:
            return self(z, pos, batch, num_graphs)
        finally:
            self.scale_H.copy_(scales[0])
            self.scale_S.copy_(scales[1])

    def _reference_matrix(self, species, offs, n, ref):
        out = ref.new_zeros(n, n)
        for a, s in enumerate(species.tolist()):
            nf = int(self._num_functions[s])
            out[offs[a]:offs[a] + nf, offs[a]:offs[a] + nf] = ref[s, :nf, :nf]
        return out

    # ------------------------------------------------------------------------------------------------ forward
    def atom_features(self, species, pos, batch):
        edge_index, _ = radius_graph(pos, self.r_max, batch)
        onehot = torch.nn.functional.one_hot(species, len(self.elements)).to(pos.dtype)
        h = self.embedding(onehot)
        for blk in self.blocks:
            h = blk(h, onehot, pos, edge_index)
        return h

    def forward(self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor | None = None,
                num_graphs: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(H, S)``, each ``[B, n_max, n_max]`` (dtype of ``pos``; zero-padded beyond a molecule's ``n_ao``)."""
        species, batch, B = self._check(z, pos, batch, num_graphs)
        x = self.atom_features(species, pos, batch)
        nf = self._num_functions[species]
        n_ao = torch.zeros(B, dtype=torch.long, device=pos.device).index_add(0, batch, nf)
        nmax = int(n_ao.max())
        start = torch.cumsum(nf, 0) - nf  # global AO offset
        mol_start = torch.zeros(B, dtype=torch.long, device=pos.device)
        mol_start[1:] = torch.cumsum(n_ao, 0)[:-1]
        local = start - mol_start[batch]  # AO offset of each atom inside its molecule

        pairs, _ = radius_graph(pos, self.r_pair, batch)
        i, j = pairs[1], pairs[0]  # block row atom i, column atom j
        vec = pos[j] - pos[i]
        r = vec.norm(dim=-1)
        w = self.radial(self.radial_basis(r)) * self.cutoff(r)[:, None]
        p_pair = self.pair_product(x[i], x[j]) + self.edge_linear(self.edge_tp(x[i], self.sh(vec), w))
        p_site = self.onsite_product(x, x) + self.onsite_linear(x)
        atoms = torch.arange(len(z), device=pos.device)
        out = []
        for name in ("H", "S"):
            G = pos.new_zeros(B * nmax * nmax)
            G = self._scatter(G, self.heads[f"{name}_pair"], p_pair, i, j, species, batch, local, nmax)
            G = self._scatter(G, self.heads[f"{name}_onsite"], p_site, atoms, atoms, species, batch, local, nmax)
            G = G.view(B, nmax, nmax)
            M = getattr(self, f"scale_{name}").to(pos.dtype) * 0.5 * (G + G.transpose(1, 2))
            ref = getattr(self, f"reference_{name}").to(pos.dtype)
            M = M + self._scatter_reference(ref, species, batch, local, nmax, B)
            if self.bond_reference is not None:
                M = M + self.bond_reference[name].matrix(species, i, j, vec, r, batch, local, self._num_functions,
                                                         nmax, B)
            out.append(M)
        return out[0], out[1]

    def _scatter(self, G, head, p, i, j, species, batch, local, nmax):
        for zi, zj in head.keys:
            si, sj = self.elements.index(zi), self.elements.index(zj)
            sel = ((species[i] == si) & (species[j] == sj)).nonzero().flatten()
            if sel.numel() == 0:
                continue
            ni, nj = int(self._num_functions[si]), int(self._num_functions[sj])
            blocks = head.block(zi, zj, p[sel])  # [P, ni * nj]
            G = _scatter_blocks(G, blocks, i[sel], j[sel], ni, nj, batch, local, nmax)
        return G

    def _scatter_reference(self, ref, species, batch, local, nmax, B):
        out = ref.new_zeros(B * nmax * nmax)
        nf = self._num_functions[species]
        for s in species.unique().tolist():
            atoms = (species == s).nonzero().flatten()
            n = int(nf[atoms[0]])
            rows = local[atoms][:, None] + torch.arange(n, device=ref.device)
            flat = (batch[atoms][:, None, None] * nmax + rows[:, :, None]) * nmax + rows[:, None, :]
            out = out.index_add(0, flat.reshape(-1), ref[s, :n, :n].expand(len(atoms), n, n).reshape(-1))
        return out.view(B, nmax, nmax)
