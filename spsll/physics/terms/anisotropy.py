"""Uniaxial (perpendicular) anisotropy: H = Hk m_z ẑ, E = −½ μ0 Ms Hk a Σ_j m_z,j².

:class:`UniaxialAnisotropy` is the material's uniform term (an axial term, fused into the integrators'
hot path). :class:`CellAnisotropy` carries a per-cell factor κ(x) ≥ 0, the anisotropy κ K of soft
defects (docs/hysteresis.md#defects):

    H_j = κ_j Hk m_z,j ẑ,   E = −½ μ0 Ms Hk a^d Σ_j κ_j m_z,j²,

κ ≡ 1 is the uniform term to the bit. It is a non-axial term of the :class:`~spsll.physics.llg.LLSystem`
(added as its ``field``), batched: κ is (B or 1, 1, *shape), one row per sample or shared.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spsll.physics.material import Material
from spsll.physics.terms.axial import AxialTerm


class UniaxialAnisotropy(AxialTerm):
    @classmethod
    def of(cls, material: Material) -> UniaxialAnisotropy:
        return cls(material.Hk, material.mu0 * material.Ms, material.a)


@dataclass(frozen=True)
class CellAnisotropy:
    """H = Hk κ(x) m_z ẑ for a batch m (B, 3, *shape); ``kappa`` (B or 1, 1, *shape), finite and ≥ 0."""

    Hk: float  # A/m
    kappa: torch.Tensor  # dimensionless factor per cell
    mu0_ms: float  # μ0 Ms (T)
    cell_size: float  # m

    @classmethod
    def of(cls, material: Material, kappa, shape: tuple[int, ...], *, dtype=torch.float64,
           device=None) -> CellAnisotropy:
        """The material's anisotropy times ``kappa`` on cells ``shape`` (the chain's (N,) or a film's):
        ``kappa`` is (*shape) (shared), (B, *shape) or (B, 1, *shape). Refuses NaN/inf and negative factors."""
        shape = tuple(shape)
        k = torch.as_tensor(kappa, dtype=dtype, device=device)
        if k.ndim == len(shape):
            k = k.reshape(1, 1, *shape) if tuple(k.shape) == shape else k
        elif k.ndim == len(shape) + 1:
            k = k.unsqueeze(1)
        if k.ndim != len(shape) + 2 or k.shape[1] != 1 or tuple(k.shape[2:]) != shape:
            raise ValueError(f"anisotropy factor kappa must have shape {shape}, (B, *{shape}) or (B, 1, *{shape}), "
                             f"got {tuple(torch.as_tensor(kappa).shape)}")
        if not bool(torch.isfinite(k).all()):
            raise ValueError("anisotropy factor kappa must be finite (no NaN or inf)")
        if bool((k < 0).any()):
            raise ValueError(f"anisotropy factor kappa must be >= 0 (allowed range [0, inf)), got min "
                             f"{float(k.min()):.4g}")
        return cls(material.Hk, k, material.mu0 * material.Ms, material.a)

    def field(self, m: torch.Tensor) -> torch.Tensor:
        h = torch.zeros_like(m)
        h[:, 2] = self.Hk * self.kappa[:, 0] * m[:, 2]
        return h

    def energy(self, m: torch.Tensor) -> torch.Tensor:
        """Per sample: J/m² on a chain, J/m in a film, J in bulk."""
        density = -0.5 * self.mu0_ms * self.Hk * self.kappa[:, 0] * m[:, 2] ** 2
        return density.flatten(1).sum(-1) * self.cell_size ** (m.ndim - 2)

    def rate_bound(self) -> float:
        """Field scale (A/m): Hk max κ."""
        return self.Hk * float(self.kappa.max())

    def select(self, index: torch.Tensor) -> CellAnisotropy:
        """The term for the samples ``index`` (a shared κ stays shared)."""
        kappa = self.kappa if self.kappa.shape[0] == 1 else self.kappa[index]
        return CellAnisotropy(self.Hk, kappa, self.mu0_ms, self.cell_size)
