"""The fitted film reading: fit F = F0 Θ(k_cut − |k|) to explicit mosaic ensembles and validate it.

    python -m spsll.studies.fitted_filter threads=1          # docs/fitted-filter.md + docs/fitted-filter/

Config: ``conf/studies/fitted_filter.yaml`` (the films and measurement of ``studies/validation_2d``, its own
training and held-out points). At each training point an ensemble of explicit mosaic films gives arg-max
peaks; a step filter is fitted per point and then parametrised over (σ, τ)
(:mod:`spsll.physics.defects.fitted`); the parametrisation is then simulated as ``solver=spsll_fitted`` at
held-out points and compared with fresh ensembles (other seeds), dispersions and film walls, next to
``spsll`` and the perfect film. Ensembles are cached per point (:mod:`.ensembles`), so the study resumes.

Modules: :mod:`.config`, :mod:`.ensembles`, :mod:`.fit`, :mod:`.compute`, :mod:`.figures`, :mod:`.report`
(``spsll/studies/templates/fitted_filter.md``), :mod:`.study` (the Hydra entry point).
"""

from spsll.studies.fitted_filter.compute import run_fitted_study
from spsll.studies.fitted_filter.config import FittedStudyConfig

__all__ = ["FittedStudyConfig", "run_fitted_study"]
