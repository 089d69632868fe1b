"""What the results report's chain and film sections share: the inverse quantities, the metric keys of
noisy and cross-model scores, the ``mean ± std`` format and the film test."""

from __future__ import annotations

import re

INVERSE_Q = (("sigma_nm", "σ (nm)"), ("tau_nm", "τ (nm)"), ("phi", "φ"), ("T_nm", "T (nm)"))
NOISE_KEY = re.compile(r"^test/(noise[0-9p]+(?:ghz|mz))_mae_phi$")
CROSS_KEY = re.compile(r"^test_([a-z_]+)/mae_phi$")


def fmt(a: dict | None, digits: int = 3) -> str:
    """``mean ± std`` (std only with more than one value), ``–`` when missing."""
    if not a or a.get("mean") is None:
        return "–"
    m = f"{a['mean']:.{digits}g}"
    return m if a["n"] < 2 else f"{m} ± {a['std']:.2g}"


def is_film(entry: dict) -> bool:
    """A result on film data (its data has more than one row); results without the record are chains."""
    return int((entry.get("dataset") or {}).get("n_rows", 1)) > 1
