"""Zeeman term of a uniform applied field: H = H_app, E = −μ0 Ms a Σ_j m_j·H_app."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spsll.physics.material import Material


@dataclass(frozen=True)
class Zeeman:
    applied: tuple[float, float, float]  # A/m
    mu0_ms: float  # μ0 Ms (T)
    cell_size: float  # m

    @classmethod
    def of(cls, material: Material) -> Zeeman:
        return cls(tuple(material.applied_field), material.mu0 * material.Ms, material.a)

    def vector(self, like: torch.Tensor) -> torch.Tensor:
        """H_app as a (1, 3, 1, ...) tensor that broadcasts over ``like`` (B, 3, *shape), in its dtype and device."""
        return torch.tensor(self.applied, dtype=like.dtype, device=like.device).view(1, 3, *[1] * (like.ndim - 2))

    def field(self, m: torch.Tensor) -> torch.Tensor:
        return self.vector(m).expand_as(m).clone()

    def energy(self, m: torch.Tensor) -> torch.Tensor:
        """Per sample: J/m² on a chain, J/m in a film, J in bulk."""
        return -self.mu0_ms * (m * self.vector(m)).sum(1).flatten(1).sum(-1) * self.cell_size ** (m.ndim - 2)
