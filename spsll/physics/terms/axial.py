"""A local axial field term H = c m_z ẑ with energy E = −½ μ0 Ms c a Σ_j m_z,j² (shared form).

Uniaxial anisotropy (c = Hk) and the thin-film shape term (c = −Ms) are both of this form. The
integrators' fused hot path adds the local terms as one coefficient, Σ c (:attr:`z_coefficient`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AxialTerm:
    z_coefficient: float  # c (A/m)
    mu0_ms: float  # μ0 Ms (T)
    cell_size: float  # m

    def field(self, m: torch.Tensor) -> torch.Tensor:
        h = torch.zeros_like(m)
        h[:, 2] = self.z_coefficient * m[:, 2]
        return h

    def energy(self, m: torch.Tensor) -> torch.Tensor:
        """Per sample: J/m² on a chain, J/m in a film, J in bulk (a sum over cells times a^d)."""
        density = -0.5 * self.mu0_ms * self.z_coefficient * (m[:, 2] ** 2)
        return density.flatten(1).sum(-1) * self.cell_size ** (m.ndim - 2)
