"""Skyrmion thresholds: which defect populations (σ, τ) and fields B still hold an isolated skyrmion
in a film, under the statistical readings and under explicit mosaic ensembles.

``python -m spsll.studies.thresholds material=<name>`` (conf/studies/thresholds.yaml) writes
docs/thresholds.md with a JSON of numbers per material in docs/thresholds/; :func:`design_answer`
reads that JSON back: at a field B, which φ (or T, τ) a skyrmion needs.

* :mod:`.config`  :class:`ThresholdConfig` and its checks (box rule, materials without DMI).
* :mod:`.compute` the field window, the batched bisection in B, the ensemble's p = ½ field B_c.
* :mod:`.answer`  the plain answer along a B_c(τ) curve; :func:`design_answer`.
* :mod:`.figures`, :mod:`.report`, :mod:`.study` the figures, the report, the Hydra entry point.
"""

from spsll.studies.thresholds.answer import design_answer, tau_threshold
from spsll.studies.thresholds.config import ThresholdConfig

__all__ = ["ThresholdConfig", "design_answer", "tau_threshold"]
