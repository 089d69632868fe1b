"""Defect populations: the random-telegraph-noise (RTN) chain, its spectrum and explicit masks.

``rtn``: Eq. 3's spectrum S(k), its discretisation P_j and a seeded sampler; ``estimate``: the PSD
estimator that checks a sampler; ``masks``: explicit occupation masks for the ensemble reference.
Lengths in metres.
"""

from spsll.physics.defects.estimate import RTNSpectrumEstimate, estimate_spectrum
from spsll.physics.defects.masks import sample_seed, vacancy_masks
from spsll.physics.defects.rtn import (
    continuous_spectrum,
    correlation_length,
    discrete_spectrum,
    material_fraction,
    sample_rtn,
    wavenumbers,
)

__all__ = [
    "RTNSpectrumEstimate",
    "continuous_spectrum",
    "correlation_length",
    "discrete_spectrum",
    "estimate_spectrum",
    "material_fraction",
    "sample_rtn",
    "sample_seed",
    "vacancy_masks",
    "wavenumbers",
]
