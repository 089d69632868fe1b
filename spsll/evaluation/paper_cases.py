"""Paper Fig. 3a–b: the forward model's dispersion drawn over the SPS-LL 2D spectrum.

For each (σ, τ) case the physics that made the dataset (its material, solver, dtype and measurement
settings, :mod:`spsll.data.provenance`) simulates the dispersion with the cropped
|FFT| image kept; the trained ``tfc_pinn`` predicts f(k) for the same (σ, τ). The figure shows the
spectrum (log colour), the analytic ideal curve (Eq. 6, red dashed) and the prediction (white),
and the per-case MAE against the simulated peaks is returned with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch
from matplotlib.figure import Figure

from spsll.data.provenance import physics_of_dataset
from spsll.figures.physics import plot_dispersion_spectrum
from spsll.physics.measure.dispersion import simulate_dispersions
from spsll.units import NM

#: the two cases of the paper's Fig. 3a and 3b, (σ, τ) in nm
PAPER_CASES_NM = ((22.9, 3.0), (15.1, 12.4))


def simulate_cases(data_path: str, cases_nm: Sequence[Sequence[float]], spectrum_max_thz: float = 12.0):
    """DispersionResult (with spectra) and Material for ``cases_nm`` under the dataset's own physics
    (material, solver, dtype and measurement, :mod:`spsll.data.provenance`)."""
    physics = physics_of_dataset(data_path)
    settings = replace(physics.measurement, store_spectrum=True, spectrum_max_thz=spectrum_max_thz).settings()
    p = torch.tensor(np.asarray(cases_nm, dtype=np.float64)) * NM
    return simulate_dispersions(physics.material, p[:, 0], p[:, 1], solver=physics.solver,
                                settings=settings), physics.material


def case_figure(model, data_path: str, cases_nm: Sequence[Sequence[float]] = PAPER_CASES_NM,
                ) -> tuple[Figure, list[float]]:
    """One panel per case: spectrum, ideal curve, tfc_pinn prediction; returns (figure, MAE THz per case)."""
    cases = np.asarray(cases_nm, dtype=np.float64).reshape(-1, 2)
    if len(cases) == 0 or (cases[:, 0] <= 0).any() or (cases[:, 1] < 0).any():
        raise ValueError(f"cases must be [[sigma_nm > 0, tau_nm >= 0], ...], got {cases_nm!r}")
    result, material = simulate_cases(data_path, cases)
    with torch.no_grad():
        pred = model.predict_physical({"params": torch.tensor(cases, dtype=torch.float32)})
    pred_thz = pred["dispersion_thz"].cpu().numpy()
    k_nm = result.k.cpu().numpy() * 1e-9
    model_k = pred["k_rad_per_nm"].cpu().numpy()
    if model_k.shape != k_nm.shape or not np.allclose(model_k, k_nm, rtol=1e-5, atol=1e-6):
        raise ValueError("the model's k grid differs from the simulated one: the dataset settings changed?")
    sim_thz = result.freq_refined.cpu().numpy() * 1e-12
    maes = [float(np.abs(pred_thz[i] - sim_thz[i]).mean()) for i in range(len(cases))]

    fig = Figure(figsize=(6.4 * len(cases), 4.6), layout="constrained")
    for i, (s, t) in enumerate(cases):
        ax = fig.add_subplot(1, len(cases), i + 1)
        title = f"({'abcdefgh'[i % 8]}) σ = {s:g} nm, τ = {t:g} nm: MAE {maes[i]:.3f} THz"
        plot_dispersion_spectrum(result, i, material, title=title, show_peaks=False, ax=ax)
        ax.plot(k_nm, pred_thz[i], "-", color="white", lw=1.2, label="tfc_pinn prediction")
        ax.legend(loc="upper center", fontsize=8, framealpha=0.6)
    return fig, maes
