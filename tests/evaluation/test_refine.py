"""Physics-refined inversion: Levenberg–Marquardt on the solver's own forward model."""

import numpy as np
import pytest
import torch

from spsll.data.config import DispersionMeasurement
from spsll.evaluation.metrics import coverage, phi_T
from spsll.evaluation.refine import refine_dispersion, refine_walls, solver_dispersion
from spsll.physics.material import Material
from spsll.physics.measure.domain_wall import WallSettings, relax_domain_walls
from spsll.physics.solvers import SolverConfig

K = np.linspace(-9.2, 9.2, 200)
TRUE = np.array([[12.0, 4.0], [30.0, 1.5], [8.0, 12.0], [45.0, 9.0]])


def observed(fept, noise_thz=0.0, seed=0):
    y = solver_dispersion(fept, 500, K)(torch.tensor(TRUE)).numpy()
    return y + noise_thz * np.random.default_rng(seed).standard_normal(y.shape)


def test_dispersion_refinement_recovers_the_parameters(fept):
    """From a start 30 % off in σ and τ, the refined φ, T, τ match the truth that made the (noise-free)
    curve: the closed form is the forward model, so only the optimiser's tolerance remains."""
    start = TRUE * np.array([1.3, 0.7])
    r = refine_dispersion(observed(fept), K, start, solver_dispersion(fept, 500, K), prior_weight=1e-4, steps=40)
    phi, T = phi_T(r.params_nm)
    tphi, tT = phi_T(TRUE)
    assert np.abs(phi - tphi).max() < 1e-4
    assert np.abs(T - tT).max() < 0.02
    assert np.abs(r.params_nm[:, 1] - TRUE[:, 1]).max() < 0.05
    assert (r.misfit_after < 1e-2 * r.misfit_before).all()


def test_laplace_intervals_cover_the_truth_under_noise(fept):
    """With 5 GHz white noise on every peak, the stated ±2 sd intervals of φ and T hold the truth for
    most of 4 × 5 noisy curves (a calibrated Gaussian gives 95 %; ≥ 75 % of 20 is the test's slack)."""
    hits = []
    for seed in range(5):
        r = refine_dispersion(observed(fept, 5e-3, seed), K, TRUE * 1.1, solver_dispersion(fept, 500, K),
                              prior_weight=1e-4, steps=30)
        assert np.all(r.std_phi > 0) and np.all(r.std_T_nm > 0)
        c = coverage(r.params_nm, TRUE, r.std_nm, r.std_phi, r.std_T_nm)
        hits.append([c["phi_2sd"], c["T_2sd"]])
    assert np.mean(hits) >= 0.75, hits


def test_wall_refinement_lowers_the_misfit_and_phi_error(fept):
    """Walls through the solver (small chain, finite-difference Jacobian): φ error falls."""
    settings = WallSettings(n_cells=120, n_harmonics=200, n_error_harmonics=40)
    solver = SolverConfig(name="spsll", compile=False)
    truth = np.array([[10.0, 5.0], [25.0, 2.0]])

    def relax(p):
        w = relax_domain_walls(fept, p[:, 0] * 1e-9, p[:, 1] * 1e-9, solver=solver, settings=settings)
        return w.mz, w.width_nm

    mz, width = relax(torch.tensor(truth))
    start = truth * np.array([0.8, 1.4])
    r = refine_walls(mz.numpy(), width.numpy(), start, relax, prior_weight=1e-4, steps=6)
    before = np.abs(phi_T(start)[0] - phi_T(truth)[0])
    after = np.abs(phi_T(r.params_nm)[0] - phi_T(truth)[0])
    assert (after < 0.2 * before).all(), (before, after)
    assert (r.misfit_after < r.misfit_before).all()


def test_bad_input(fept):
    with pytest.raises(ValueError, match="must agree"):
        refine_dispersion(observed(fept), K, TRUE[:2], solver_dispersion(fept, 500, K))
    from spsll.data.provenance import DataPhysics
    from spsll.evaluation.refine import refine_predictions

    assert isinstance(fept, Material)
    physics = DataPhysics("dispersion", fept, SolverConfig(), DispersionMeasurement(), (5.0, 50.0), (0.0, 15.0))
    obs = {"dispersion": observed(fept), "k_rad_per_nm": K}
    with pytest.raises(ValueError, match="solver or surrogate"):
        refine_predictions("dispersion", physics, obs, TRUE, forward="adjoint")
    with pytest.raises(ValueError, match="tfc_pinn"):
        refine_predictions("dispersion", physics, obs, TRUE, forward="surrogate")
    with pytest.raises(ValueError, match="no wall surrogate"):
        refine_predictions("domain_wall", physics, {}, TRUE, forward="surrogate")
    film = DataPhysics("dispersion", fept, SolverConfig(), DispersionMeasurement(n_rows=64), (5.0, 50.0), (0.0, 15.0))
    with pytest.raises(ValueError, match="film of 64 rows"):  # the closed form is the chain's filter
        refine_predictions("dispersion", film, obs, TRUE, forward="solver")
