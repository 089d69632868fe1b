"""Isolated skyrmions in films with explicit vacancies and under the statistical readings.

A batch of samples, one per row — a reading's (σ, τ) or an explicit mosaic mask, each with its own
applied field B ẑ along the background (the core is −ẑ; the term :class:`FieldAlongZ`,
H = (B/μ0) ẑ, E = −μ0 Ms a² Σ_j H m_z,j per unit thickness) — is relaxed from the skyrmion ansatz of
:func:`spsll.physics.textures.initial_texture` by the torque-stopped minimiser of
:mod:`spsll.physics.relax` (per-sample stop), and measured (docs/thresholds.md#definitions):

* **Placement.** A mask is used as drawn (the vacancies near the skyrmion are part of the
  statistics); the ansatz's core (the box centre, the corner of four cells) is moved by the shortest
  whole-cell shift that puts its four cells on material, so that no skyrmion starts with its core on
  a vacancy (in most samples the shift is 0). Without vacancies it stays at the centre.
* **Filled texture.** Vacant cells hold m = 0. For measuring, each takes the normalised mean of its
  already filled 4-neighbours, layer by layer from the material inwards. Berg–Lüscher's Q of a
  periodic lattice of unit vectors is an integer, so Q of the filled texture counts the skyrmion
  whatever the vacancies cut (the raw Q of the material's plaquettes is not an integer then). With
  no vacancy the filled texture is the texture.
* **Survived.** The relaxation converged to a metastable state (torque ≤ tolerance) in which the
  skyrmion is intact — |Q_fill − Q0| < 0.1 (Q0 of the filled initial texture, −1) and the core still
  reversed on material (m_z < 0 on an occupied cell) — and isolated: the m_z = 0 contour is found
  along every ray within half the box and its mean radius is at most ``isolated_fraction`` (¼) of
  the box's short side (a texture grown to the box, |D| ≥ D_c at low field, is no isolated
  skyrmion). Without vacancies this is ``relax_texture``'s criterion plus convergence and isolation.
  Convergence is required because in a disordered film a skyrmion can creep through the vacancies
  for thousands of iterations and then collapse on one: an intact skyrmion still moving at the end
  of the budget is ``undecided`` and does not count as a survivor (measured on Pt/Co mosaics, such
  samples were alive at the budget at one field and gone at both neighbouring ones).
* **Radius** of the filled texture (:func:`spsll.physics.measure.texture.skyrmion_radius`); **core**
  the centroid of its reversed region.
* **Pinned.** A vacancy cluster is a 4-connected set of vacant cells (periodic) of at least
  ``min_cluster_cells`` cells. A skyrmion is pinned when a cluster lies on its wall: a cluster cell's
  centre within ``pin_cells`` of the m_z = 0 contour (the circle of the mean radius around the
  core). Vacancies hold the wall, not the core: a vacancy removes the wall's exchange and anisotropy
  energy, positive, and its DMI energy, negative, and the sum 4√(AK) − π|D| > 0 is what a wall
  costs; a skyrmion started with a vacancy inside moves until the vacancy sits on its wall.
* **Energy** E(skyrmion) − E(uniform), the uniform state relaxed from +ẑ with the same mask and
  field (J, the film energy times its thickness).

The module runs past 300 lines because the placement, the fill, the clusters and the relaxation they
serve belong together; each definition is only meaningful next to the measurement it makes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from spsll.physics.checks import as_batch, require_int_at_least, require_scalar_positive
from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.relaxed_texture import SURVIVAL_Q_TOL, relax_texture, sample_cross_section
from spsll.physics.measure.texture import core_centre, skyrmion_radius, topological_charge
from spsll.physics.relax import relax_bb
from spsll.physics.solvers import SolverConfig, build_system
from spsll.physics.terms import local_terms
from spsll.physics.textures import initial_texture
from spsll.units import correlation_length, material_fraction

WILSON_Z = 1.959963984540054  # the two-sided 95 % normal quantile


# -- inputs --------------------------------------------------------------------------------------
def require_skyrmion_material(material: Material) -> None:
    """Refuse a material that cannot hold an isolated skyrmion at all: no DMI (the skyrmion
    collapses: exchange and anisotropy alone have no metastable one) or no perpendicular easy axis."""
    if material.D == 0:
        raise ValueError(f"material {material.name!r} has no DMI (D_J_per_m2 = 0): it cannot hold an isolated "
                         "skyrmion, which collapses without the DMI; choose a material with interfacial DMI "
                         "(e.g. material=ptco or material=dmi_standard)")
    material.require_perpendicular("an isolated skyrmion")
    if any(h != 0.0 for h in material.applied_field):
        raise ValueError(f"material {material.name!r} has applied_field_A_per_m = {list(material.applied_field)}: "
                         "the skyrmion measurements set the field themselves (field_T); give the material none")


def check_box(grid: Grid, sigma, tau, min_box_over_T: float = 50.0, *, name: str = "points") -> None:
    """Refuse (σ, τ) (m) whose mosaic does not fit the film: its short side must hold ``min_box_over_T``
    correlation lengths T = στ/(σ+τ) (docs/physics.md#mosaic)."""
    s = as_batch("sigma", sigma)
    t = as_batch("tau", tau)
    if bool((s <= 0).any()) or bool((t < 0).any()):
        raise ValueError(f"{name}: sigma must be > 0 and tau >= 0 (metres)")
    side = min(grid.shape) * grid.a
    t_max = side / require_scalar_positive("min_box_over_T", min_box_over_T)
    for sb, tb in zip(s.tolist(), t.tolist(), strict=True):
        T = correlation_length(sb, tb)
        if T > t_max * (1 + 1e-9):
            raise ValueError(f"{name}: (sigma, tau) = ({sb * 1e9:g}, {tb * 1e9:g}) nm has T = {T * 1e9:.3f} nm, but "
                             f"the {grid.shape[0]} x {grid.shape[1]} film ({side * 1e9:.1f} nm short side) allows "
                             f"T <= {t_max * 1e9:.3f} nm (min_box_over_T = {min_box_over_T:g}); choose a smaller T "
                             "or a larger box")


@dataclass(frozen=True)
class PinningRule:
    """When a relaxed skyrmion counts as pinned (module docstring); lengths in cells."""

    min_cluster_cells: int = 1
    pin_cells: float = 1.5

    def __post_init__(self):
        require_int_at_least("min_cluster_cells", self.min_cluster_cells, 1)
        require_scalar_positive("pin_cells", self.pin_cells)


# -- the per-sample field --------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldAlongZ:
    """A uniform field H_b ẑ, one value per sample (A/m, (B,)): H = H_b ẑ, E = −μ0 Ms a² Σ_j H_b m_z,j."""

    h: torch.Tensor  # (B,) A/m
    mu0_ms: float
    cell_size: float

    def field(self, m: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(m)
        out[:, 2] = self.h.to(m).view(-1, *[1] * (m.ndim - 2))
        return out

    def energy(self, m: torch.Tensor) -> torch.Tensor:
        mz = m[:, 2].flatten(1).sum(-1)
        return -self.mu0_ms * self.h.to(m) * mz * self.cell_size ** (m.ndim - 2)

    def rate_bound(self) -> float:
        return float(self.h.abs().max())

    def select(self, index: torch.Tensor) -> FieldAlongZ:
        return FieldAlongZ(self.h[index.to(self.h.device)], self.mu0_ms, self.cell_size)


# -- placement, fill, clusters -----------------------------------------------------------------------
def core_shifts(mask: torch.Tensor | None, grid: Grid, batch: int) -> torch.Tensor:
    """Whole-cell shifts (B, 2) that put the ansatz's core cells (the four around the box centre) on
    material: the shortest (periodic) shift, ties broken by the cell order; zeros without a mask."""
    out = torch.zeros(batch, 2, dtype=torch.long)
    if mask is None:
        return out
    nx, ny = grid.shape
    ix = (torch.arange(nx) - (nx // 2 - 1) + nx // 2) % nx - nx // 2  # periodic offsets from the core block
    iy = (torch.arange(ny) - (ny // 2 - 1) + ny // 2) % ny - ny // 2
    dist = (ix[:, None] ** 2 + iy[None, :] ** 2).to(torch.float64).flatten()
    order = torch.argsort(dist, stable=True)
    occ = mask.detach().to("cpu") > 0
    block = occ & occ.roll(-1, 1) & occ.roll(-1, 2) & occ.roll((-1, -1), (1, 2))  # 2x2 block from (i, j)
    for b in range(batch):
        ok = block[b].flatten()[order]
        if not bool(ok.any()):
            raise ValueError(f"mask row {b} has no 2 x 2 block of material to place a skyrmion core on")
        k = int(order[int(torch.nonzero(ok)[0])])
        out[b, 0], out[b, 1] = ix[k // ny], iy[k % ny]
    return out


def fill_vacancies(m: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The texture with every vacant cell given the normalised mean of its filled 4-neighbours, layer
    by layer from the material (B, 3, Nx, Ny); the texture itself without a mask."""
    if mask is None:
        return m
    filled = (mask > 0).to(m.device).clone()
    v = m * filled[:, None]
    while not bool(filled.all()):
        acc = torch.zeros_like(v)
        cnt = torch.zeros_like(filled, dtype=v.dtype)
        for shift, dim in ((1, 1), (-1, 1), (1, 2), (-1, 2)):
            acc += torch.roll(v * filled[:, None], shift, dim + 1)
            cnt += torch.roll(filled.to(v.dtype), shift, dim)
        new = ~filled & (cnt > 0)
        if not bool(new.any()):  # a sample without material: nothing to fill from
            break
        mean = acc / acc.norm(dim=1, keepdim=True).clamp_min(torch.finfo(v.dtype).tiny)
        v = torch.where(new[:, None], mean, v)
        filled |= new
    return v


def _root(parent: np.ndarray, x: int) -> int:
    """Union–find root of label ``x`` (path halving)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def vacancy_clusters(mask: torch.Tensor, min_cells: int = 1) -> torch.Tensor:
    """Cells (B, Nx, Ny, bool) of the vacancy clusters of at least ``min_cells`` cells: 4-connected sets
    of vacant cells, joined across the periodic box edges."""
    out = np.zeros(tuple(mask.shape), dtype=bool)
    for b, occ in enumerate(mask.detach().to("cpu").numpy()):
        lab, n = ndimage.label(occ == 0)
        if n == 0:
            continue
        parent = np.arange(n + 1)
        for edge_a, edge_b in ((lab[0, :], lab[-1, :]), (lab[:, 0], lab[:, -1])):
            for x, y in zip(edge_a.tolist(), edge_b.tolist(), strict=True):
                if x and y:
                    parent[_root(parent, x)] = _root(parent, y)
        roots = np.array([_root(parent, x) for x in range(n + 1)])[lab]
        sizes = np.bincount(roots.ravel(), minlength=n + 1)
        out[b] = (lab > 0) & (sizes[roots] >= min_cells)
    return torch.from_numpy(out)


def periodic_distance(p: torch.Tensor, q: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Distance (cells) between points p, q (..., 2) in cell-index units on the periodic box."""
    n = torch.tensor(shape, dtype=torch.float64)
    d = (p - q + n / 2) % n - n / 2
    return d.norm(dim=-1)


def cluster_distances(clusters: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> tuple[torch.Tensor,
                                                                                                   torch.Tensor]:
    """Per sample (cells): the distance from its point (B, 2, cell-index units) to the nearest cluster
    cell's centre, and the smallest gap between a cluster cell's centre and the circle of radius
    ``radii`` (B, cells) around the point; inf where there is no cluster, no point or no radius."""
    near = torch.full((clusters.shape[0],), math.inf, dtype=torch.float64)
    wall = near.clone()
    for b in range(clusters.shape[0]):
        idx = torch.nonzero(clusters[b]).to(torch.float64)
        if idx.numel() and bool(torch.isfinite(centres[b]).all()):
            d = periodic_distance(idx, centres[b][None], clusters.shape[1:])
            near[b] = d.min()
            if math.isfinite(float(radii[b])):
                wall[b] = (d - radii[b]).abs().min()
    return near, wall


# -- results ------------------------------------------------------------------------------------------
@dataclass
class SkyrmionBatch:
    """Per sample: the decision, its ingredients and the measurements (SI)."""

    survived: torch.Tensor  # (B,) bool
    undecided: torch.Tensor  # (B,) bool, intact and isolated but still moving at the end of the budget
    converged: torch.Tensor  # (B,) bool
    isolated: torch.Tensor  # (B,) bool
    core_down: torch.Tensor  # (B,) bool, m_z < 0 on an occupied cell
    charge: torch.Tensor  # (B,) Q of the filled texture
    charge_material: torch.Tensor  # (B,) Q of the material's plaquettes only
    initial_charge: torch.Tensor  # (B,) Q0 of the filled initial texture
    radius: torch.Tensor  # (B,) m (NaN: no contour)
    core_start: torch.Tensor  # (B, 2) cell-index units
    core_end: torch.Tensor  # (B, 2) cell-index units (NaN: no core)
    core_shift: torch.Tensor  # (B,) m
    cluster_distance: torch.Tensor  # (B,) m from the final core to the nearest vacancy cluster (inf: none)
    wall_gap: torch.Tensor  # (B,) m from the m_z = 0 circle to the nearest vacancy cluster (inf: none)
    pinned: torch.Tensor  # (B,) bool
    energy: torch.Tensor | None  # (B,) J, E(skyrmion) − E(uniform)
    field_T: torch.Tensor  # (B,)
    iterations: torch.Tensor | None = None
    m: torch.Tensor | None = None  # (B, 3, Nx, Ny) relaxed states (keep_state)

    def __len__(self) -> int:
        return int(self.survived.shape[0])

    @staticmethod
    def cat(parts: Sequence[SkyrmionBatch]) -> SkyrmionBatch:
        vals = {}
        for f in dataclasses.fields(SkyrmionBatch):
            got = [getattr(p, f.name) for p in parts]
            vals[f.name] = None if any(g is None for g in got) else torch.cat(got)
        return SkyrmionBatch(**vals)


def assess(m: torch.Tensor, m0: torch.Tensor, grid: Grid, converged: torch.Tensor, *, mask: torch.Tensor | None = None,
           core_start: torch.Tensor | None = None, pinning: PinningRule = PinningRule(),
           isolated_fraction: float = 0.25) -> dict:
    """The decision and the measurements of relaxed skyrmions m (B, 3, Nx, Ny) started from m0
    (module docstring). Both paths (batched and ``relax_texture``) decide through this."""
    B = m.shape[0]
    filled, filled0 = fill_vacancies(m, mask), fill_vacancies(m0, mask)
    q, q0 = topological_charge(filled), topological_charge(filled0)
    occ = torch.ones_like(m[:, 2], dtype=torch.bool) if mask is None else mask.to(m.device) > 0
    mz = torch.where(occ, m[:, 2], torch.zeros_like(m[:, 2]))
    core_down = (mz.flatten(1).amin(dim=1) < 0).cpu()
    radius = skyrmion_radius(filled, grid)
    side = min(grid.shape) * grid.a
    isolated = torch.isfinite(radius) & (radius <= isolated_fraction * side)
    converged = converged.cpu()
    intact = ((q - q0).abs().cpu() < SURVIVAL_Q_TOL) & core_down & isolated
    survived = intact & converged
    centre = torch.tensor([n / 2 - 0.5 for n in grid.shape], dtype=torch.float64)
    start = centre.expand(B, 2).clone() if core_start is None else core_start.to(torch.float64)
    end = torch.full((B, 2), math.nan, dtype=torch.float64)
    for b in range(B):
        if float(filled[b, 2].min()) < 0:
            end[b] = torch.tensor(core_centre(filled[b, 2].to(torch.float64).cpu()), dtype=torch.float64)
    shift = periodic_distance(end, start, grid.shape)
    if mask is None:
        dist = gap = torch.full((B,), math.inf, dtype=torch.float64)
    else:
        dist, gap = cluster_distances(vacancy_clusters(mask, pinning.min_cluster_cells), end, radius / grid.a)
    pinned = survived & (gap <= pinning.pin_cells)
    return {"survived": survived, "undecided": intact & ~converged, "converged": converged, "isolated": isolated,
            "core_down": core_down,
            "charge": q.cpu().to(torch.float64), "charge_material": topological_charge(m).cpu().to(torch.float64),
            "initial_charge": q0.cpu().to(torch.float64), "radius": radius, "core_start": start, "core_end": end,
            "core_shift": shift * grid.a, "cluster_distance": dist * grid.a,
            "wall_gap": gap * grid.a, "pinned": pinned}


# -- relaxation ---------------------------------------------------------------------------------------
def _fields(field_T, batch: int) -> torch.Tensor:
    b = as_batch("field_T", field_T)
    if b.numel() == 1:
        b = b.expand(batch).clone()
    if b.numel() != batch:
        raise ValueError(f"field_T has {b.numel()} values for {batch} samples")
    return b


def _system(material, grid, solver, sigma, tau, mask, h):
    terms = local_terms(material) + (FieldAlongZ(h, material.mu0 * material.Ms, material.a),)
    return build_system(solver, material, grid, sigma, tau, alpha=1.0, mask=mask, terms=terms)


def relax_skyrmions(material: Material, grid: Grid, *, field_T, solver: SolverConfig | None = None, sigma=None,
                    tau=None, mask: torch.Tensor | None = None, radius: float, torque_tol: float = 1e-6,
                    max_iter: int = 20_000, energy: bool = False, pinning: PinningRule = PinningRule(),
                    isolated_fraction: float = 0.25, keep_state: bool = False) -> SkyrmionBatch:
    """Relax an isolated skyrmion per sample and measure it (module docstring), batched.

    One sample per row: ``sigma``/``tau`` (m, (B,)) of a statistical reading, or ``mask`` (B, Nx, Ny)
    of explicit vacancies (solver ``rtn_ensemble``), or neither (``psll``: B from ``field_T``);
    ``field_T`` (T, scalar or (B,)) along +ẑ; ``radius`` (m) of the ansatz's core. ``energy`` relaxes
    the uniform state too and reports E(skyrmion) − E(uniform).
    """
    require_skyrmion_material(material)
    if grid.ndim != 2:
        raise ValueError(f"skyrmions live in films: grid shape must be (Nx, Ny), got {grid.shape}")
    solver = solver or SolverConfig(name="psll")
    if mask is not None and not solver.solver.explicit_defects:
        raise ValueError(f"masks are explicit vacancies: use solver rtn_ensemble, not {solver.name}")
    if solver.solver.explicit_defects and mask is None:
        raise ValueError(f"solver {solver.name} needs the vacancy masks (B, Nx, Ny)")
    if mask is not None:
        batch = mask.shape[0]
    else:
        batch = as_batch("field_T" if sigma is None else "sigma", field_T if sigma is None else sigma).numel()
    fields = _fields(field_T, batch)
    h = fields / material.mu0
    kw = {"dtype": solver.torch_dtype, "device": solver.torch_device}
    if mask is not None:
        mask = mask.to(**kw)
    system = _system(material, grid, solver, sigma, tau, mask, h)
    shifts = core_shifts(mask, grid, batch)
    m0 = initial_texture("skyrmion", grid, batch=batch, radius=radius, dmi=material.D, **kw)
    for b in torch.nonzero(shifts.abs().sum(1)).flatten().tolist():
        m0[b] = torch.roll(m0[b], tuple(shifts[b].tolist()), (1, 2))
    if mask is not None:
        m0 = m0 * mask[:, None]
    res = relax_bb(system, m0, torque_tol=torque_tol, max_iter=max_iter, compile=solver.compile)
    start = torch.tensor([n / 2 - 0.5 for n in grid.shape], dtype=torch.float64) + shifts.to(torch.float64)
    out = assess(res.m, m0, grid, res.converged, mask=mask, core_start=start, pinning=pinning,
                 isolated_fraction=isolated_fraction)
    de = None
    if energy:
        scale = sample_cross_section(material, grid)
        u0 = initial_texture("uniform", grid, batch=batch, **kw)
        u0 = u0 if mask is None else u0 * mask[:, None]
        uni = relax_bb(system, u0, torque_tol=torque_tol, max_iter=max_iter, compile=solver.compile)
        de = (system.energy(res.m) - system.energy(uni.m)).to(torch.float64).cpu() * scale
    return SkyrmionBatch(**out, energy=de, field_T=fields.clone(), iterations=res.iterations.cpu(),
                         m=res.m if keep_state else None)


def relax_skyrmion_one(material: Material, grid: Grid, *, field_T: float, solver: SolverConfig | None = None,
                       sigma: float | None = None, tau: float | None = None, mask: torch.Tensor | None = None,
                       radius: float, torque_tol: float = 1e-6, max_iter: int = 20_000,
                       pinning: PinningRule = PinningRule(), isolated_fraction: float = 0.25) -> SkyrmionBatch:
    """One sample through :func:`~spsll.physics.measure.relaxed_texture.relax_texture` (the material's
    own Zeeman term; a mask as drawn, the core at the box centre), decided by :func:`assess`: the
    one-at-a-time reference of :func:`relax_skyrmions`."""
    require_skyrmion_material(material)
    mat = dataclasses.replace(material, applied_field=(0.0, 0.0, float(field_T) / material.mu0))
    kw = {"sigma": None if sigma is None else [sigma], "tau": None if tau is None else [tau]}
    mask = None if mask is None else mask.reshape(1, *grid.shape).to(dtype=(solver or SolverConfig()).torch_dtype)
    res = relax_texture(mat, grid, "skyrmion", solver=solver, radius=radius, torque_tol=torque_tol,
                        max_iter=max_iter, mask=mask, **kw)
    m0 = initial_texture("skyrmion", grid, batch=1, radius=radius, dmi=material.D, dtype=res.m.dtype,
                         device=res.m.device)
    m0 = m0 if mask is None else m0 * mask[:, None].to(m0)
    out = assess(res.m, m0, grid, res.converged, mask=mask, pinning=pinning, isolated_fraction=isolated_fraction)
    return SkyrmionBatch(**out, energy=None, field_T=torch.tensor([float(field_T)], dtype=torch.float64))


# -- per-point statistics -----------------------------------------------------------------------------
def wilson_interval(k, n, z: float = WILSON_Z) -> tuple[torch.Tensor, torch.Tensor]:
    """Wilson's score interval (lo, hi) of a binomial proportion p = k/n (tensors or numbers; n ≥ 1):
    (p + z²/2n ± z √(p(1−p)/n + z²/4n²)) / (1 + z²/n)."""
    k = torch.as_tensor(k, dtype=torch.float64)
    n = torch.as_tensor(n, dtype=torch.float64)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z / den * torch.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half).clamp_min(0.0), (centre + half).clamp_max(1.0)


QUANTILES = (0.1, 0.5, 0.9)


def point_summary(batch: SkyrmionBatch, points: int, realisations: int) -> dict:
    """Per point (rows point-major, ``realisations`` each): survival probability and its Wilson
    interval, the survivors' radius distribution (m), pinned fraction and mean energy (J) among the
    survivors, the number undecided (still moving at the budget), the converged fraction of all."""
    surv = batch.survived.reshape(points, realisations)
    k = surv.sum(1)
    lo, hi = wilson_interval(k, realisations)
    rad = batch.radius.reshape(points, realisations)
    out = {"survival": (k / realisations).tolist(), "survival_lo": lo.tolist(), "survival_hi": hi.tolist(),
           "survivors": k.tolist(), "undecided": batch.undecided.reshape(points, realisations).sum(1).tolist(),
           "radius_mean": [], "radius_std": [],
           **{f"radius_q{round(100 * q)}": [] for q in QUANTILES},
           "pinned_fraction": [], "converged_fraction": batch.converged.reshape(points, -1).double().mean(1).tolist()}
    pinned = batch.pinned.reshape(points, realisations)
    for p in range(points):
        r = rad[p][surv[p]]
        out["radius_mean"].append(float(r.mean()) if r.numel() else math.nan)
        out["radius_std"].append(float(r.std()) if r.numel() > 1 else math.nan)
        for q in QUANTILES:
            out[f"radius_q{round(100 * q)}"].append(float(torch.quantile(r, q)) if r.numel() else math.nan)
        out["pinned_fraction"].append(float(pinned[p][surv[p]].double().mean()) if r.numel() else math.nan)
    if batch.energy is not None:
        e = batch.energy.reshape(points, realisations)
        out["energy_mean"] = [float(e[p][surv[p]].mean()) if bool(surv[p].any()) else math.nan for p in range(points)]
    return out


@dataclass
class PointMeasurement:
    """A measurement over (σ, τ) points at one field: per realisation (point-major) and per point."""

    sigma: torch.Tensor  # (P,) m
    tau: torch.Tensor  # (P,) m
    field_T: float
    realisations: int
    samples: SkyrmionBatch
    summary: dict


def _points(sigma, tau) -> tuple[torch.Tensor, torch.Tensor]:
    s, t = as_batch("sigma", sigma), as_batch("tau", tau)
    if s.shape != t.shape:
        raise ValueError(f"sigma and tau must have the same length, got {s.numel()} and {t.numel()}")
    if bool((s <= 0).any()) or bool((t < 0).any()):
        raise ValueError("sigma must be > 0 and tau >= 0 (metres)")
    return s, t


def measure_ensemble(material: Material, grid: Grid, sigma, tau, *, field_T: float, realisations: int,
                     seed: int = 0, radius: float, min_box_over_T: float = 50.0, energy: bool = True,
                     solver: SolverConfig | None = None, chunk: int = 32, **kw) -> PointMeasurement:
    """Skyrmions in R explicit mosaic films per (σ, τ) (m) at ``field_T``: per realisation and per point.
    The mosaic of each point comes from ``rtn_ensemble``'s masks (seeded by (seed, σ, τ)); points whose
    mosaic does not fit the box (``min_box_over_T``) are refused."""
    s, t = _points(sigma, tau)
    check_box(grid, s, t, min_box_over_T)
    base = solver or SolverConfig(name="rtn_ensemble")
    ens = SolverConfig.of("rtn_ensemble", dtype=base.dtype, device=base.device, compile=base.compile,
                          realisations=require_int_at_least("realisations", realisations, 1), seed=seed)
    masks = ens.solver.masks(ens, material, grid.shape, s, t)
    parts = [relax_skyrmions(material, grid, field_T=field_T, solver=ens, mask=masks[lo:lo + chunk], radius=radius,
                             energy=energy, **kw) for lo in range(0, masks.shape[0], chunk)]
    samples = SkyrmionBatch.cat(parts)
    return PointMeasurement(s, t, float(field_T), realisations, samples,
                            {**point_summary(samples, s.numel(), realisations), **_phi_T(s, t)})


def measure_statistical(material: Material, grid: Grid, sigma, tau, *, field_T: float, solver: SolverConfig,
                        radius: float, energy: bool = True, torque_tol: float = 1e-6, max_iter: int = 20_000,
                        isolated_fraction: float = 0.25) -> PointMeasurement:
    """The same measurement under a statistical reading: one sample per (σ, τ), no masks, through
    ``relax_texture`` (the material's Zeeman term at ``field_T``); energies against its uniform state."""
    require_skyrmion_material(material)
    s, t = _points(sigma, tau)
    if solver.solver.explicit_defects:
        raise ValueError(f"measure_statistical takes a statistical reading, not {solver.name} "
                         "(use measure_ensemble)")
    mat = dataclasses.replace(material, applied_field=(0.0, 0.0, float(field_T) / material.mu0))
    kw = {"solver": solver, "torque_tol": torque_tol, "max_iter": max_iter}
    args = {} if solver.name == "psll" else {"sigma": s, "tau": t}
    sk = relax_texture(mat, grid, "skyrmion", radius=radius, **args, **kw)
    if solver.name == "psll" and s.numel() > 1:  # one kernel for all: the same state at every point
        sk = dataclasses.replace(sk, m=sk.m.expand(s.numel(), *sk.m.shape[1:]),
                                 converged=sk.converged.expand(s.numel()), energy_J=sk.energy_J.expand(s.numel()))
    m0 = initial_texture("skyrmion", grid, batch=s.numel(), radius=radius, dmi=material.D, dtype=sk.m.dtype,
                         device=sk.m.device)
    out = assess(sk.m, m0, grid, sk.converged, isolated_fraction=isolated_fraction)
    de = None
    if energy:
        uni = relax_texture(mat, grid, "uniform", **args, **kw)
        de = (sk.energy_J - uni.energy_J).cpu()
    samples = SkyrmionBatch(**out, energy=de, field_T=torch.full((s.numel(),), float(field_T), dtype=torch.float64))
    return PointMeasurement(s, t, float(field_T), 1, samples, {**point_summary(samples, s.numel(), 1), **_phi_T(s, t)})


def _phi_T(s: torch.Tensor, t: torch.Tensor) -> dict:
    return {"phi": material_fraction(s, t).tolist(), "T": correlation_length(s, t).tolist()}
