"""The solver table: the exchange term each reading of Eq. 4 builds (docs/physics.md#readings)."""

import pytest
import torch

from spsll.physics.defects import rtn
from spsll.physics.solvers import SOLVER_NAMES, SolverConfig, solver_of
from tests.physics.conftest import exchange

NM = 1e-9


def test_tau_zero_reduces_exactly_to_psll(fept):
    ideal = exchange("psll", fept, 500)
    m = torch.randn(3, 3, 500, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    h0 = ideal.field(m)
    for name in ("spsll", "spsll_convolution"):
        op = exchange(name, fept, 500, [10 * NM] * 3, [0.0] * 3)
        assert torch.equal(op.field(m), h0), name  # bit-identical, not just close


def test_spsll_filter_is_phi_plus_sqrt_pcont(fept):
    s, t = 10 * NM, 5 * NM
    op = exchange("spsll", fept, 500, s, t)
    ideal = exchange("psll", fept, 500)
    P = rtn.discrete_spectrum(500, fept.a, torch.tensor([s], dtype=torch.float64),
                             torch.tensor([t], dtype=torch.float64))[0, :251]
    phi = s / (s + t)
    pc = P.clone()
    pc[0] -= phi**2
    F = op.kernel[0, 0, 1:] / ideal.kernel[0, 0, 1:]
    torch.testing.assert_close(F, phi + pc[1:].sqrt(), rtol=1e-12, atol=0)
    # a weak low-pass: the filter decreases with k and stays above φ
    assert bool((F[:-1] >= F[1:]).all()) and bool((F > phi).all())


def test_convolution_weight_has_spike_at_cell_zero(fept):
    op = exchange("spsll_convolution", fept, 500, 10 * NM, 5 * NM)
    g = op.weight[0, 0]
    # docs/physics.md#readings: g real, even, g(0) ≈ 5–7 and ≈ 0.58 far from the spike (X ≈ 3.04 THz = 0.58 X0)
    assert 5 <= float(g[0]) <= 7
    torch.testing.assert_close(g[1:], g[1:].flip(0))
    assert float(g[250]) == pytest.approx(3.04e12 / fept.X0, rel=0.02)
    # its stiffness bound is several times the filter's (the reason for smaller steps)
    assert float(op.rate_bound()) > 5 * float(exchange("spsll", fept, 500, 10 * NM,
                                                             5 * NM).rate_bound())


@pytest.mark.parametrize(
    ("sigma", "tau", "match"),
    [(0.0, 1e-9, "sigma"), (-1e-9, 1e-9, "sigma"), (1e-9, -1e-9, "tau"),
     (float("nan"), 1e-9, "sigma"), (1e-9, float("inf"), "tau")],
)
def test_bad_defect_parameters(fept, sigma, tau, match):
    with pytest.raises(ValueError, match=match):
        exchange("spsll", fept, 500, sigma, tau)


def test_unknown_solver_and_small_grid(fept):
    with pytest.raises(ValueError, match="solver.name must be one of"):
        solver_of("llg_fd")
    with pytest.raises(ValueError, match="solver.name must be one of"):
        SolverConfig(name="llg_fd")
    with pytest.raises(ValueError, match="n_cells"):
        exchange("psll", fept, 4)


def test_the_table_names_every_configured_solver():
    from tests.data.conftest import ROOT

    assert set(SOLVER_NAMES) == {p.stem for p in (ROOT / "conf" / "solver").glob("*.yaml")}
    for name in SOLVER_NAMES:
        cfg = SolverConfig.of(name)
        assert cfg.solver is solver_of(name) and SolverConfig.from_config(cfg.to_dict()) == cfg


def test_solver_settings_belong_to_their_solver():
    cfg = SolverConfig.of("rtn_ensemble", realisations=8, compile=False)
    assert cfg.options == {"realisations": 8, "seed": 0, "chain_batch": None} and cfg.compile is False
    assert cfg.to_dict()["realisations"] == 8 and "realisations" not in SolverConfig.of("spsll").to_dict()
    with pytest.raises(ValueError, match="only used by solver=rtn_ensemble"):
        SolverConfig.of("psll", realisations=4)
    with pytest.raises(ValueError, match="not a solver setting"):
        SolverConfig.of("spsll", timestep=1e-15)
