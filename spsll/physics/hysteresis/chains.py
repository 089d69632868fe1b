"""The batch of chains a sweep reverses: material, grid, occupation and anisotropy factor per sample.

Vacancies enter as in the explicit-defect reference (solver ``rtn_ensemble``): the occupation r
(B, N) of 0./1. multiplies the field and the state (m = 0 in a vacancy), so a vacancy cuts the
exchange bond. Soft defects keep r = 1 and carry the anisotropy factor κ(x) of
:func:`spsll.physics.defects.soft.soft_anisotropy`. A finite wire (free ends) is a geometry
occupation (N,) on top of either. The local terms are the material's: the anisotropy (times κ) and,
when ``material.local_shape_term``, the thin-film shape term −Ms m_z ẑ; the material's DMI and
thin-film magnetostatics are added by :func:`spsll.physics.solvers.build_system`.

:meth:`Chains.reading` is a defect population under a statistical reading (``spsll``,
``spsll_convolution``): no cell is a defect; the exchange (and DMI) carries the reading's filter of
(σ, τ) and the anisotropy is the material's everywhere, because the reading filters exchange and
nothing else (docs/hysteresis.md#statistical-model).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spsll.physics.defects.soft import DEFECT_KINDS, check_fraction, soft_anisotropy
from spsll.physics.grid import Grid
from spsll.physics.hysteresis.descent import ReverseField
from spsll.physics.llg import LLSystem
from spsll.physics.material import Material
from spsll.physics.solvers import SolverConfig, build_system
from spsll.physics.terms import ShapeAnisotropy
from spsll.physics.terms.anisotropy import CellAnisotropy


@dataclass
class Chains:
    """B chains on ``grid``; ``occupation`` (B, N) and ``kappa`` (B, N); ``keys`` name the samples (their
    tilt noise is seeded by key, so a sample's sweep does not depend on its batch)."""

    material: Material
    grid: Grid
    kind: str
    occupation: torch.Tensor
    kappa: torch.Tensor
    keys: tuple[int, ...]
    reading: str | None = None             # a statistical reading's solver name (None: explicit defects)
    sigma: torch.Tensor | None = None      # (B,) m, the reading's σ and τ
    tau: torch.Tensor | None = None
    _system: LLSystem | None = None

    @classmethod
    def build(cls, material: Material, grid: Grid, kind: str, defects, *, kappa: float = 0.0,
              geometry: torch.Tensor | None = None, keys=None, dtype=torch.float64, device=None) -> Chains:
        """Chains with defect indicators ``defects`` (B, N) (1: defect cell; a fraction in [0, 1] for a graded
        soft defect), of ``kind`` vacancy or soft (κ: the soft cells' anisotropy in units of K), inside
        ``geometry`` (N,) 0./1. (a wire) or the whole periodic box (None)."""
        if grid.ndim != 1:
            raise ValueError(f"hysteresis sweeps run on a chain: grid.shape must be [N], got {list(grid.shape)}")
        if kind not in DEFECT_KINDS:
            raise ValueError(f"defects.kind must be one of {DEFECT_KINDS}, got {kind!r}")
        if any(h != 0.0 for h in material.applied_field):
            raise ValueError("material.applied_field_A_per_m must be 0: the sweep sets the applied field")
        material.require_perpendicular("a demagnetisation curve from saturation along z")
        d = torch.as_tensor(defects, dtype=dtype, device=device)
        d = d.reshape(1, -1) if d.ndim == 1 else d
        if d.ndim != 2 or d.shape[1] != grid.shape[0]:
            raise ValueError(f"defect mask must have shape (B, {grid.shape[0]}), got {tuple(d.shape)}")
        check_fraction("defect mask", d)
        geo = torch.ones(grid.shape[0], dtype=dtype, device=device) if geometry is None else \
            check_fraction("geometry occupation", torch.as_tensor(geometry, dtype=dtype, device=device))
        if kind == "vacancy":
            if not bool(((d == 0) | (d == 1)).all()):
                raise ValueError("defect mask of vacancies must hold only 0 (material) and 1 (vacancy)")
            occupation, k = (1 - d) * geo, torch.ones_like(d)
        else:
            occupation, k = geo.expand_as(d).clone(), soft_anisotropy(d, kappa).to(d)
        if not bool((occupation.sum(1) > 0).all()):
            raise ValueError("a chain of the batch holds no magnetic cell (all vacancies)")
        keys = tuple(range(d.shape[0])) if keys is None else tuple(int(k) for k in keys)
        if len(keys) != d.shape[0]:
            raise ValueError(f"keys: one per sample ({d.shape[0]}), got {len(keys)}")
        return cls(material, grid, kind, occupation, k, keys)

    @classmethod
    def reading_of(cls, material: Material, grid: Grid, solver: str, sigma, tau, *,
                   geometry: torch.Tensor | None = None, keys=None, dtype=torch.float64, device=None) -> Chains:
        """Defect-free chains whose exchange is the statistical reading ``solver`` of (σ, τ) (B,) in metres."""
        from spsll.physics.solvers import solver_of

        if solver_of(solver).explicit_defects:
            raise ValueError(f"{solver} places explicit defects: use Chains.build with its masks")
        if grid.ndim != 1:
            raise ValueError(f"hysteresis sweeps run on a chain: grid.shape must be [N], got {list(grid.shape)}")
        sigma = torch.as_tensor(sigma, dtype=dtype, device=device).reshape(-1)
        tau = torch.as_tensor(tau, dtype=dtype, device=device).reshape(-1)
        if sigma.shape != tau.shape:
            raise ValueError(f"sigma and tau need one value per chain, got {tuple(sigma.shape)} and {tuple(tau.shape)}")
        base = cls.build(material, grid, "soft", torch.zeros(len(sigma), grid.shape[0]), kappa=1.0,
                         geometry=geometry, keys=keys, dtype=dtype, device=device)
        return cls(material, grid, "soft", base.occupation, base.kappa, base.keys, solver, sigma, tau)

    @property
    def batch(self) -> int:
        return self.occupation.shape[0]

    def select(self, index) -> Chains:
        idx = torch.as_tensor(index, dtype=torch.long).reshape(-1)

        def pick(t):
            return None if t is None else t[idx.to(t.device)]

        return Chains(self.material, self.grid, self.kind, self.occupation[idx], self.kappa[idx],
                      tuple(self.keys[i] for i in idx.tolist()), self.reading, pick(self.sigma), pick(self.tau))

    def _full(self) -> LLSystem:
        """The system of the whole batch, built once (exchange and the material's non-local terms)."""
        if self._system is None:
            occ, kw = self.occupation, {"dtype": self.occupation.dtype, "device": self.occupation.device}
            local = (ShapeAnisotropy.of(self.material),) if self.material.local_shape_term else ()
            terms = (*local, CellAnisotropy.of(self.material, self.kappa, self.grid.shape, **kw))
            if self.reading is not None:  # the reading's batched kernel; a wire's ends as a free boundary
                cfg = SolverConfig(name=self.reading, dtype=_name(kw["dtype"]), device=str(kw["device"]),
                                   compile=False)
                geometry = None if bool((occ[0] == 1).all()) else occ[0]
                self._system = build_system(cfg, self.material, self.grid, self.sigma, self.tau, alpha=1.0,
                                            terms=terms, geometry=geometry)
                return self._system
            # every cell occupied: the psll kernel (shared by the batch); otherwise the masked one
            name, mask = ("psll", None) if bool((occ == 1).all()) else ("rtn_ensemble", occ)
            cfg = SolverConfig(name=name, dtype=_name(kw["dtype"]), device=str(kw["device"]), compile=False)
            self._system = build_system(cfg, self.material, self.grid, alpha=1.0, terms=terms, mask=mask)
        return self._system

    def system(self, index: torch.Tensor, field: torch.Tensor) -> LLSystem:
        """The system of the samples ``index`` in reverse fields ``field`` (A/m along −z), one per sample."""
        full = self._full()
        ex = full.exchange.select(index)
        axial = tuple(t for t in full.terms if t not in full.extra)
        extra = tuple(t.select(index) for t in full.extra)
        zeeman = ReverseField(field.to(self.occupation), self.material.mu0 * self.material.Ms, self.material.a)
        return LLSystem(self.material, ex, 1.0, axial + extra + (zeeman,))

    def magnetisation(self, m: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """M/Ms along z (B,): the mean m_z over the magnetic cells of each sample."""
        occ = self.occupation[index]
        return (m[:, 2] * occ).sum(-1) / occ.sum(-1)


def _name(dtype: torch.dtype) -> str:
    return {torch.float64: "float64", torch.float32: "float32"}[dtype]
