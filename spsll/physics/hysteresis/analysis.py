"""What a demagnetisation curve is reduced to (docs/hysteresis.md#observables).

All fields are reverse fields H (A/m along −z, :mod:`.sweep`), interpolated linearly between the
accepted field steps:

* coercivity H_c: the first field where M/Ms reaches 0;
* nucleation field H_N: the first departure from saturation, the midpoint of the finest-step bracket
  [last saturated field, first field where some cell's m_z has dropped by more than the sweep's
  ``departure`` (10⁻⁴)]. This is the field where the saturated state loses stability, which is what
  the linear theory computes (the lowest eigenvalue of the Hessian of the saturated state reaching
  zero); a threshold on M/Ms instead would depend on the chain length around a layer;
* anchors: H at M/Ms = 0.99, 0.9, 0.5, 0, −0.9 and M/Ms at H = 0.1 H_K and 0.2 H_K;
* jumps: the accepted steps (bracketed to the finest field step) that move some cell's m_z by more than
  ``jump_dm`` (1: more than half its range), irreversible switches of a region;
* the reversal mode: ``single jump`` when the first departure from saturation is itself a jump (the
  nucleation is subcritical and H_c = H_N), ``spring then depinning`` when the chain first leaves
  saturation reversibly (an exchange spring in a soft region) and reverses in a later jump (the walls
  depinning), ``continuous`` when no step is a jump.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spsll.physics.hysteresis.sweep import Curve, SweepSettings

H_ANCHORS_M = (0.99, 0.9, 0.5, 0.0, -0.9)  # M/Ms levels whose field is reported
M_ANCHORS_HK = (0.1, 0.2)  # fields (units of H_K) whose M/Ms is reported
MODES = ("single jump", "spring then depinning", "continuous")


@dataclass
class CurveSummary:
    H_A_per_m: list[float]
    M: list[float]
    coercivity_A_per_m: float
    nucleation_field_A_per_m: float
    nucleation_bracket_A_per_m: tuple[float, float]  # (last saturated field, first departed field); NaN: none
    H_at_M: dict[str, float]  # "0.99" → H (A/m); NaN if the curve never reaches it
    M_at_H: dict[str, float]  # "0.1" (units of H_K) → M/Ms
    jumps: list[dict]  # {"H_A_per_m": bracket midpoint, "from_A_per_m", "to_A_per_m", "dM"}
    reversal_mode: str
    converged: bool
    relaxations: int
    iterations: int

    def to_dict(self, H_K: float) -> dict:
        """JSON-ready (NaN → None), with the fields in units of H_K alongside."""
        def num(x):
            return None if x is None or not math.isfinite(x) else float(x)
        return {
            "H_A_per_m": self.H_A_per_m, "H_over_HK": [h / H_K for h in self.H_A_per_m], "M_over_Ms": self.M,
            "coercivity_A_per_m": num(self.coercivity_A_per_m),
            "nucleation_field_A_per_m": num(self.nucleation_field_A_per_m),
            "nucleation_bracket_A_per_m": [num(x) for x in self.nucleation_bracket_A_per_m],
            "coercivity_over_HK": num(self.coercivity_A_per_m / H_K),
            "nucleation_field_over_HK": num(self.nucleation_field_A_per_m / H_K),
            "anchors": {"H_A_per_m_at_M_over_Ms": {k: num(v) for k, v in self.H_at_M.items()},
                        "M_over_Ms_at_H_over_HK": {k: num(v) for k, v in self.M_at_H.items()}},
            "jumps": self.jumps, "reversal_mode": self.reversal_mode, "converged": self.converged,
            "relaxations": self.relaxations, "iterations": self.iterations,
        }


def field_at(H: np.ndarray, M: np.ndarray, level: float) -> float:
    """The first field where M falls to ``level`` (linear between steps); NaN if it never does."""
    below = np.nonzero(M <= level)[0]
    if below.size == 0:
        return math.nan
    i = int(below[0])
    if i == 0:
        return float(H[0])
    return float(H[i - 1] + (level - M[i - 1]) * (H[i] - H[i - 1]) / (M[i] - M[i - 1]))


def summarise(curve: Curve, H_K: float, settings: SweepSettings) -> CurveSummary:
    """Coercivity, nucleation field, anchors, jumps and mode of one sample's curve."""
    H, M = np.asarray(curve.H), np.asarray(curve.M)
    dep, change = np.asarray(curve.departure), np.asarray(curve.change)
    left = np.nonzero(dep > settings.departure)[0]
    i_n = int(left[0]) if left.size else None
    jump_idx = [int(i) for i in np.nonzero(change > settings.jump_dm)[0] if i > 0]
    jumps = [{"H_A_per_m": float(H[i - 1] + H[i]) / 2, "from_A_per_m": float(H[i - 1]), "to_A_per_m": float(H[i]),
              "dM": float(M[i] - M[i - 1])} for i in jump_idx]
    if not jump_idx:
        mode = "continuous"
    elif i_n is not None and jump_idx[0] == i_n:
        mode = "single jump"
    else:
        mode = "spring then depinning"
    return CurveSummary(
        H_A_per_m=[float(x) for x in H], M=[float(x) for x in M],
        coercivity_A_per_m=field_at(H, M, 0.0),
        nucleation_field_A_per_m=math.nan if i_n is None else float(H[i_n - 1] + H[i_n]) / 2,
        nucleation_bracket_A_per_m=(math.nan, math.nan) if i_n is None else (float(H[i_n - 1]), float(H[i_n])),
        H_at_M={f"{lv:g}": field_at(H, M, lv) for lv in H_ANCHORS_M},
        M_at_H={f"{hk:g}": float(np.interp(hk * H_K, H, M)) if H[0] <= hk * H_K <= H[-1] else math.nan
                for hk in M_ANCHORS_HK},
        jumps=jumps, reversal_mode=mode, converged=curve.converged, relaxations=curve.attempts,
        iterations=curve.iterations)
