"""The thin-film shape term of the chain: H = −Ms m_z ẑ, E = +½ μ0 Ms² a Σ_j m_z,j².

The local demagnetising field of a film magnetised along its normal (z); with it the gap field is
H_gap = Hk − Ms (docs/physics.md#material).
"""

from __future__ import annotations

from spsll.physics.material import Material
from spsll.physics.terms.axial import AxialTerm


class ShapeAnisotropy(AxialTerm):
    @classmethod
    def of(cls, material: Material) -> ShapeAnisotropy:
        return cls(-material.Ms, material.mu0 * material.Ms, material.a)
