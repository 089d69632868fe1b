"""Uniaxial (perpendicular) anisotropy: H = Hk m_z ẑ, E = −½ μ0 Ms Hk a Σ_j m_z,j²."""

from __future__ import annotations

from spsll.physics.material import Material
from spsll.physics.terms.axial import AxialTerm


class UniaxialAnisotropy(AxialTerm):
    @classmethod
    def of(cls, material: Material) -> UniaxialAnisotropy:
        return cls(material.Hk, material.mu0 * material.Ms, material.a)
