"""Identifiability maps (spsll/studies/identifiability/): the bound's algebra, the τ → 0 limit, and
docs/physics.md#identifiability's statement that under ``spsll`` the observables depend on (σ, τ)
mostly through φ = σ/(σ+τ)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from spsll.studies import identifiability as ident
from spsll.studies.common import compose_study
from spsll.studies.identifiability.report import render_report
from tests.studies.conftest import run_study

NM = 1e-9


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    return ident.Setup.from_conf()


def test_cramer_rao_is_the_inverse_fisher_matrix():
    """For a linear observation y = Jθ + unit noise the bound is exactly (JᵀJ)⁻¹ and, by the delta
    method, gᵀ(JᵀJ)⁻¹g for φ and T; the SVD route must give the same to round-off (rtol 1e-9: the
    ill-conditioned rows below have κ(JᵀJ) ~ 1e6, so ~1e-10 of float64 is left)."""
    gen = torch.Generator().manual_seed(0)
    J = torch.randn(5, 40, 2, generator=gen, dtype=torch.float64)
    J[:3, :, 1] = J[:3, :, 0] + 1e-3 * J[:3, :, 1]  # nearly collinear columns: a sloppy direction
    sigma = torch.tensor([10.0, 20.0, 5.0, 40.0, 3.0], dtype=torch.float64)
    tau = torch.tensor([5.0, 1.0, 15.0, 2.0, 3.0], dtype=torch.float64)
    out = ident.cramer_rao(J, sigma, tau)
    cov = torch.linalg.inv(J.transpose(1, 2) @ J)
    tot2 = (sigma + tau) ** 2
    g_phi = torch.stack([tau / tot2, -sigma / tot2], 1)
    g_T = torch.stack([tau**2 / tot2, sigma**2 / tot2], 1)
    quad = lambda g: torch.einsum("bi,bij,bj->b", g, cov, g).sqrt()  # noqa: E731
    torch.testing.assert_close(out["std_sigma"], cov[:, 0, 0].sqrt(), rtol=1e-9, atol=0)
    torch.testing.assert_close(out["std_tau"], cov[:, 1, 1].sqrt(), rtol=1e-9, atol=0)
    torch.testing.assert_close(out["std_phi"], quad(g_phi), rtol=1e-9, atol=0)
    torch.testing.assert_close(out["std_T"], quad(g_T), rtol=1e-9, atol=0)
    # the worst-determined direction: the eigenvector of JᵀJ with the smallest eigenvalue
    _, vecs = torch.linalg.eigh(J.transpose(1, 2) @ J)
    assert torch.allclose((out["sloppy"] * vecs[:, :, 0]).sum(1).abs(), torch.ones(5, dtype=torch.float64))
    # knowing T can only help: the conditional bound on φ is never above the marginal one
    assert bool((out["std_phi_T_known"] <= out["std_phi"] * (1 + 1e-12)).all())


def test_lines_have_constant_phi_and_T_and_stay_in_the_boxes(setup):
    for box in (setup.box_dispersion, setup.box_walls):
        sig = ident.line_sigmas(box, 7)
        tau = ident.line_taus(sig)
        phi, _ = ident.phi_T(sig["phi"], tau["phi"])
        _, T = ident.phi_T(sig["T"], tau["T"])
        np.testing.assert_allclose(phi, ident.PHI_LINE, rtol=1e-12)
        np.testing.assert_allclose(T, ident.T_LINE_M, rtol=1e-12)
        for key in ("phi", "T"):  # 1e-9 nm slack: the end points are computed to sit on the box's edge
            assert sig[key].min() >= box[0][0] - 1e-18 and sig[key].max() <= box[0][1] + 1e-18
            assert tau[key].min() > 0 and tau[key].max() <= box[1][1] + 1e-18


def test_dispersion_at_tau_zero_is_the_ideal_one(setup):
    """τ = 0 is the perfect chain (docs/physics.md#readings): F(k) ≡ 1 exactly, so f(k) = f_gap + X0[1 − cos ka] to
    round-off (rtol 1e-13 on ~10 THz)."""
    sigma = torch.tensor([5.0, 20.0, 50.0], dtype=torch.float64) * NM
    f = ident.dispersion_hz(setup, sigma, torch.zeros(3, dtype=torch.float64))
    ideal = setup.material.ideal_frequency(setup.k)
    torch.testing.assert_close(f, ideal.expand(3, -1), rtol=1e-13, atol=0)
    assert f.shape == (3, setup.n_cells_dispersion)


def test_central_differences_match_autograd(setup):
    """The walls' finite-difference Jacobian, checked on the dispersion where autograd is exact. A
    central difference with relative step h errs by ~h² f'''/6f' ~ 1e-4 of the derivative here, so
    rtol 1e-3 passes a correct stencil and fails a one-sided one (error ~h/2 = 5e-3)."""
    sigma = torch.tensor([7.0, 25.0, 45.0], dtype=torch.float64) * NM
    tau = torch.tensor([1.0, 6.0, 14.0], dtype=torch.float64) * NM
    y, jac = ident.dispersion_jacobian(setup, sigma, tau)
    y_fd, jac_fd = ident.central_jacobian(
        lambda s, t: ident.dispersion_hz(setup, s, t).detach() / ident.NOISE_HZ, sigma, tau)
    torch.testing.assert_close(y_fd, y.detach())
    for j in range(2):  # per column, relative to the column's largest entry
        scale = jac[:, :, j].abs().amax(1, keepdim=True)
        assert float(((jac_fd[:, :, j] - jac[:, :, j]).abs() / scale).max()) < 1e-3


def test_dispersion_moves_along_constant_T_not_along_constant_phi(setup):
    """docs/physics.md#identifiability: along the constant-φ ray f(k) changes only through the small
    √(S_cont Δk) term (tens of GHz), along the constant-T hyperbola through φ itself (THz). Measured
    ratio ≈ 0.007; 0.02 leaves ~3× margin and still fails if φ were not the dominant variable. The
    φ-ray spread must exceed the 1 GHz noise, else σ and τ could not be told apart even in this
    closed-form model."""
    sig = ident.line_sigmas(setup.box_dispersion, 5)
    tau = ident.line_taus(sig)
    spread = {}
    for key in ("phi", "T"):
        f = ident.dispersion_hz(setup, torch.from_numpy(sig[key]), torch.from_numpy(tau[key])).detach()
        spread[key] = float((f.amax(0) - f.amin(0)).max())
    assert spread["phi"] < 0.02 * spread["T"]
    assert spread["phi"] > 5 * ident.NOISE_HZ


def test_dispersion_map(setup):
    """Shapes, and the bound's physics: φ known far better (relative to its span over the box) than
    σ (measured 3e-3 of σ's relative bound; 0.05 asserts a 20× gap), and the worst-determined direction
    along the constant-φ ray (measured ≤ 0.25°; 2° is still a sharp statement)."""
    m = ident.identifiability_map(setup, "dispersion", 3)
    assert m.sigma.shape == m.tau.shape == m.summary.shape == (3, 3)
    assert m.crb["sloppy"].shape == (3, 3, 2)
    for key in ("std_sigma", "std_tau", "std_phi", "std_T", "std_phi_T_known", "stiffness_ratio"):
        assert m.crb[key].shape == (3, 3) and np.isfinite(m.crb[key]).all() and (m.crb[key] > 0).all()
    (s_lo, s_hi), (t_lo, t_hi) = setup.box_dispersion
    assert m.sigma.min() > s_lo and m.sigma.max() < s_hi and m.tau.min() > t_lo and m.tau.max() < t_hi
    phi, _ = ident.phi_T(m.sigma, m.tau)
    rel_phi = np.median(m.crb["std_phi"]) / np.ptp(phi)
    rel_sigma = np.median(m.crb["std_sigma"]) / np.ptp(m.sigma)
    assert rel_phi < 0.05 * rel_sigma
    assert m.angle_sloppy_deg.max() < 2.0
    # the zone-boundary frequency lies between f_gap and the ideal f(π/a) and falls with the defects
    f_ideal = float(setup.material.ideal_frequency(torch.tensor(np.pi / setup.material.a)))
    assert (m.summary > setup.material.f_gap).all() and (m.summary < f_ideal).all()
    assert (np.diff(m.summary, axis=0) < 0).all()  # rows: τ ascending


def test_wall_map_and_lines(setup):
    """Walls on a 2 × 2 grid (20 relaxations) and along both lines: the width follows w0·√φ
    (docs/physics.md#identifiability, ≤ 0.6 % on this grid; 3 % tolerance), barely moves along
    constant φ (measured ~1 % of the spread along constant T; asserted < 5 %), φ's bound, relative
    to its span, is far below σ's (measured ~1/115; asserted 1/20), and the worst-determined
    direction lies along the constant-φ ray (measured ≤ 0.35°; asserted 2°)."""
    m = ident.identifiability_map(setup, "walls", 2)
    phi, _ = ident.phi_T(m.sigma, m.tau)
    w0 = float(ident.relax_walls(setup, torch.tensor([50 * NM]), torch.tensor([0.0]))[1][0])
    np.testing.assert_allclose(m.summary, w0 * np.sqrt(phi), rtol=0.03)
    rel_phi = np.median(m.crb["std_phi"]) / np.ptp(phi)
    rel_sigma = np.median(m.crb["std_sigma"]) / np.ptp(m.sigma)
    assert rel_phi < 0.05 * rel_sigma
    assert m.angle_sloppy_deg.max() < 2.0

    sig = ident.line_sigmas(setup.box_walls, 4)
    tau = ident.line_taus(sig)
    _, width = ident.relax_walls(setup, torch.from_numpy(np.concatenate([sig["phi"], sig["T"]])),
                                 torch.from_numpy(np.concatenate([tau["phi"], tau["T"]])))
    assert np.ptp(width[:4].numpy()) < 0.05 * np.ptp(width[4:].numpy())


def test_config_keeps_the_command_line_defaults():
    cfg = compose_study("identifiability")
    assert (cfg.out, cfg.grid, cfg.threads) == ("docs/identifiability.md", 20, 1)
    assert cfg.solver.name == "spsll" and cfg.material.name == "FePt-L10"


def test_cli_writes_report_and_figures(tmp_path):
    out = tmp_path / "ident.md"
    proc = run_study(tmp_path, "identifiability", f"out={out}", "grid=2", "threads=1")
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "python -m spsll.studies.identifiability out=" in text and "std φ" in text
    assert "§" not in text and "physics.md#targets" in text  # cites no outside document: the report stands alone
    for name in ("dispersion_lines", "wall_lines", "dispersion_crb", "wall_crb"):
        assert (tmp_path / "ident" / f"{name}.png").stat().st_size > 10_000
    # the report is its template filled from the JSON alone
    raw = json.loads((tmp_path / "ident" / "identifiability.json").read_text())
    physics = re.search(r"\]\(([^)]*)#targets\)", text).group(1)
    assert render_report(raw, fig_dir="ident", physics=physics) == text
