"""Defect populations: the random-telegraph-noise (RTN) chain, the mosaic of films and bulk, their
spectra and explicit masks.

``rtn``: Eq. 3's spectrum S(k), its discretisation P_j and a seeded sampler; ``mosaic``: the coloured
Poisson hyperplane mosaic in 2D/3D (docs/physics.md#mosaic); ``estimate``: the PSD estimator that
checks a sampler; ``masks``: explicit occupation masks for the ensembles. Lengths in metres, except
``sample_mosaic``, which takes nm at the edge.
"""

from spsll.physics.defects.estimate import RTNSpectrumEstimate, estimate_spectrum
from spsll.physics.defects.masks import sample_seed, vacancy_masks
from spsll.physics.defects.mosaic import (
    Hyperplanes,
    MosaicEstimate,
    draw_hyperplanes,
    draw_mosaic,
    estimate_mosaic_parameters,
    hyperplane_rate,
    mosaic_continuous_spectrum,
    mosaic_discrete_spectrum,
    mosaic_lattice_spectrum,
    mosaic_periodogram_expectation,
    mosaic_wavevectors,
    region_keys,
    sample_mosaic,
    switch_probabilities,
)
from spsll.physics.defects.rtn import (
    continuous_spectrum,
    correlation_length,
    discrete_spectrum,
    material_fraction,
    sample_rtn,
    wavenumbers,
)

__all__ = [
    "Hyperplanes",
    "MosaicEstimate",
    "RTNSpectrumEstimate",
    "continuous_spectrum",
    "correlation_length",
    "discrete_spectrum",
    "draw_hyperplanes",
    "draw_mosaic",
    "estimate_mosaic_parameters",
    "estimate_spectrum",
    "hyperplane_rate",
    "material_fraction",
    "mosaic_continuous_spectrum",
    "mosaic_discrete_spectrum",
    "mosaic_lattice_spectrum",
    "mosaic_periodogram_expectation",
    "mosaic_wavevectors",
    "region_keys",
    "sample_mosaic",
    "sample_rtn",
    "sample_seed",
    "switch_probabilities",
    "vacancy_masks",
    "wavenumbers",
]
