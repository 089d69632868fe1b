"""How much of (σ, τ, φ, T) the observables hold: a ridge regression on the standardised inputs.

A diagnostic, not a model: it fits a linear map on the train split of a dataset file (dispersion:
refined peaks per k; walls: m_z profile + width) and prints the test-split MAE per quantity. If a
linear readout beats a network on a quantity, the network is not using what the data hold.

    python benchmarks/linear_readout.py data/dispersion.h5
    python benchmarks/linear_readout.py data/domain_wall.h5
"""

from __future__ import annotations

import sys

import h5py
import numpy as np


def features(f: h5py.File) -> np.ndarray:
    if "freq_refined_thz" in f:
        return f["freq_refined_thz"][:].astype(np.float64)
    return np.c_[f["mz"][:].astype(np.float64), f["width_nm"][:]]


def main(path: str, lam: float = 1e-3) -> None:
    with h5py.File(path, "r") as f:
        X, s, t, split = features(f), f["sigma_nm"][:], f["tau_nm"][:], f["split"][:]
    tr, te = split == 0, split == 2
    Z = (X - X[tr].mean(0)) / (X[tr].std(0) + 1e-12)
    A = np.c_[Z, np.ones(len(Z))]
    targets = {"sigma_nm": s, "tau_nm": t, "phi": s / (s + t), "T_nm": s * t / (s + t)}
    print(f"{path}: ridge (lambda={lam}) on {A.shape[1] - 1} standardised features, "
          f"{int(tr.sum())} train / {int(te.sum())} test samples")
    for name, y in targets.items():
        w = np.linalg.solve(A[tr].T @ A[tr] + lam * np.eye(A.shape[1]), A[tr].T @ y[tr])
        print(f"  test MAE {name:9s} {np.abs(A[te] @ w - y[te]).mean():.3g}   (std of {name}: {y.std():.3g})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
