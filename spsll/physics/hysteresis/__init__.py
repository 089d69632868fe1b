"""Quasi-static demagnetisation curves of chains with defects (docs/hysteresis.md).

``chains``: the batch (vacancies as occupation masks, soft defects as an anisotropy factor κ(x));
``descent``: the sweep's field term and torque-stopped minimiser; ``sweep``: the adaptive field sweep;
``analysis``: coercivity, nucleation field, anchors, jumps and reversal mode of a curve; ``theory``:
the linear nucleation theory and the thick-layer depinning field the tests compare with.
"""

from spsll.physics.hysteresis.analysis import H_ANCHORS_M, M_ANCHORS_HK, MODES, CurveSummary, summarise
from spsll.physics.hysteresis.chains import Chains
from spsll.physics.hysteresis.descent import ReverseField, minimise
from spsll.physics.hysteresis.sweep import Curve, SweepError, SweepSettings, run_sweep
from spsll.physics.hysteresis.theory import (
    continuum_nucleation_field,
    lattice_nucleation_field,
    thick_layer_depinning_field,
)

__all__ = ["H_ANCHORS_M", "MODES", "M_ANCHORS_HK", "Chains", "Curve", "CurveSummary", "ReverseField", "SweepError",
           "SweepSettings", "continuum_nucleation_field", "lattice_nucleation_field", "minimise", "run_sweep",
           "summarise", "thick_layer_depinning_field"]
