"""Interfacial DMI (docs/physics.md#dmi) against physics: its energy is the real-space
central-difference sum of D [m_z ∇·m − (m·∇) m_z] and its field minus that energy's gradient; it makes
spin waves non-reciprocal by f(k) − f(−k) = 2γD k/(π Ms) (Moon et al., PRB 88, 184404 (2013)); it
turns a wall of the local model Néel without changing its width and lowers its energy to
4√(A K_eff) − π|D|; damped dynamics with it lose energy; and each solver filters it as it filters
exchange."""

import dataclasses
import math
from pathlib import Path

import pytest
import torch
import yaml

from spsll.physics.defects import vacancy_masks
from spsll.physics.grid import Grid
from spsll.physics.llg import choose_time_step, integrate
from spsll.physics.material import Material
from spsll.physics.relax import relax_bb
from spsll.physics.solvers import SOLVERS, SolverConfig, build_system
from spsll.physics.terms import DMITerm, ThinFilmMagnetostatics
from tests.physics.test_magnetostatics import gradient_field, linear_frequencies, random_state

NM = 1e-9
ROOT = Path(__file__).resolve().parents[2]
PSLL = SolverConfig(name="psll", compile=False, device="cpu")
PTCO = Material.from_config(yaml.safe_load((ROOT / "conf/material/ptco.yaml").read_text()))
# in-plane film (thin-film shape anisotropy beats Hk), D = 3 mJ/m², Ms = 0.86 MA/m as in Moon et al.
SPIN_WAVE = Material(Ms=0.86e6, A=13e-12, Hk=0.1e6, a=1 * NM, D=3e-3, thickness=2 * NM,
                     magnetostatics="thin_film")


def central_difference_energy(m, material):
    """a^d Σ D [m_z ∇·m − (m·∇) m_z] with ∂_d f = (f_{j+1} − f_{j−1}) / 2a over x (and y): the
    discretisation written out in real space, independent of the spectral term."""
    density = torch.zeros_like(m[:, 0])
    for axis in range(min(m.ndim - 2, 2)):
        dim = 2 + axis

        def d(f, dim=dim):
            return (torch.roll(f, -1, dim - 1) - torch.roll(f, 1, dim - 1)) / (2 * material.a)

        density = density + m[:, 2] * d(m[:, axis]) - m[:, axis] * d(m[:, 2])
    return material.D * density.flatten(1).sum(-1) * material.a ** (m.ndim - 2)


@pytest.mark.parametrize("shape", [(64,), (16, 12), (8, 6, 4)])
def test_energy_is_the_central_difference_sum_and_field_its_gradient(shape):
    term = DMITerm.of(PTCO, Grid(shape, PTCO.a))
    m = random_state(shape)
    # one real-space sum against one spectral product: equal to round-off
    torch.testing.assert_close(term.energy(m), central_difference_energy(m, PTCO), rtol=1e-10, atol=0)
    torch.testing.assert_close(term.field(m), gradient_field(term.energy, m, PTCO), rtol=1e-10,
                               atol=1e-8 * PTCO.Ms)


def test_filtered_dmi_field_is_minus_the_energy_gradient():
    # the spsll filter F(k) is real and even: F·∂ stays antisymmetric, so the field keeps its energy
    term = SOLVERS["spsll"].dmi(PTCO, Grid(64, PTCO.a), [10 * NM, 20 * NM], [5 * NM, 2 * NM],
                                dtype=torch.float64, device=None)
    m = random_state((64,))
    torch.testing.assert_close(term.field(m), gradient_field(term.energy, m, PTCO), rtol=1e-10,
                               atol=1e-8 * PTCO.Ms)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_spin_wave_non_reciprocity(sign):
    """m0 = ±ŷ in a field along it, waves along x (k ⊥ m0), thin-film magnetostatics on. DMI adds
    −i c sin(ka)/a · I to the 2×2 linear map (c = 2D/μ0Ms), so on the lattice
    f(k) − f(−k) = ∓2γD sin(ka)/(π Ms a) exactly (the exchange, anisotropy and thickness-averaged
    dipolar parts are reciprocal): round-off tolerance. The continuum slope 2γD/(π Ms) = 391.0 GHz nm
    (390.6 with γ = e/m_e) is met at ka = 0.049 within sin(ka)/ka − 1 = −0.04 % < 2 %."""
    m0 = torch.tensor([0.0, sign, 0.0], dtype=torch.float64)
    mat = dataclasses.replace(SPIN_WAVE, applied_field=(0.0, sign * 0.3e6, 0.0))
    n = 128
    system = build_system(PSLL, mat, Grid(n, mat.a), alpha=0.0)
    assert {type(t) for t in system.extra} == {DMITerm, ThinFilmMagnetostatics}
    j = torch.arange(1, n // 2, dtype=torch.float64)
    k = 2 * math.pi * j / (n * mat.a)
    freqs = linear_frequencies(system, m0, j)
    delta_f = freqs.sum(-1)  # ω(k) + (−ω(−k))
    lattice = -sign * 2 * mat.gamma * mat.D * torch.sin(k * mat.a) / (math.pi * mat.Ms * mat.a)
    torch.testing.assert_close(delta_f, lattice, rtol=1e-9, atol=1e-9 * float(freqs.abs().max()))
    slope = float(delta_f[0] / k[0]) * -sign  # Hz m
    assert slope == pytest.approx(2 * mat.gamma * mat.D / (math.pi * mat.Ms), rel=0.02)
    assert slope == pytest.approx(390.6, rel=0.02)  # Hz m = GHz per nm⁻¹ (Moon et al.)


def two_walls(material, n, psi):
    """θ = 2 arctan e^{(x − L/4)/Δ} + 2 arctan e^{(x − 3L/4)/Δ} (0 → π → 2π: periodic), m in the plane at
    azimuth ψ: m = (sin θ cos ψ, sin θ sin ψ, cos θ)."""
    x = torch.arange(n, dtype=torch.float64) + 0.5
    d = math.sqrt(material.A / material.K_U) / material.a
    theta = 2 * torch.atan(torch.exp((x - n / 4) / d)) + 2 * torch.atan(torch.exp((x - 3 * n / 4) / d))
    return torch.stack([torch.sin(theta) * math.cos(psi), torch.sin(theta) * math.sin(psi), torch.cos(theta)])[None]


@pytest.mark.parametrize("D", [0.0, 1.5e-3, -1.5e-3, 3e-3])
def test_neel_wall_of_the_local_model(D):
    """Pt/Co film (local shape term), Δ = √(A/K_eff) = 5.7 nm = 5.7 a, D_c = 3.56 mJ/m². For fixed
    azimuth ψ the DMI energy density D θ' cos ψ is a total derivative: the continuum wall keeps
    θ = 2 arctan e^{x/Δ}, turns Néel with cos ψ = −sign D, and its energy is 4√(A K_eff) − π|D|. On the
    lattice the exchange and DMI sums differ from their integrals by O((a/Δ)²) = 3 % times coefficients
    ≤ 1/6 (1/12 for the Laplacian): measured ≤ 0.55 % (energy) and ≤ 0.4 % (width), hence 1 %."""
    mat = dataclasses.replace(PTCO, D=D)
    n = 256
    system = build_system(PSLL, mat, Grid(n, mat.a), alpha=1.0)
    res = relax_bb(system, two_walls(mat, n, math.pi / 4), torque_tol=1e-9, max_iter=20_000, compile=False)
    assert bool(res.converged.all())
    m = res.m
    up = torch.zeros_like(m)
    up[:, 2] = 1.0
    sigma = float(system.energy(m) - system.energy(up)) / 2  # two walls, J/m²
    assert sigma == pytest.approx(4 * math.sqrt(mat.A * mat.K_U) - math.pi * abs(D), rel=0.01)
    # ∫ (1 − m_z²) dx = ∫ sech² = 2Δ per wall: the lattice sum of a smooth sech² is exact to e^{−πΔ/a}
    width = float((1 - m[0, 2] ** 2).sum()) * mat.a / 4
    assert width == pytest.approx(math.sqrt(mat.A / mat.K_U), rel=0.01)
    if D != 0:
        assert float(m[0, 1].abs().max()) < 1e-6  # Néel: no m_y
        # ∫ m_x ∂x m_z dx = ∫ sin²θ θ' cos(π)·(−1) dx = π/2 per wall, with the sign of D
        dmz = (torch.roll(m[0, 2], -1) - torch.roll(m[0, 2], 1)) / 2
        assert float((m[0, 0] * dmz).sum()) == pytest.approx(math.copysign(math.pi, D), rel=0.01)


@pytest.mark.parametrize("name, shape", [("spsll", (64,)), ("psll", (16, 12)), ("rtn_ensemble", (64,))])
def test_damped_dynamics_with_dmi_and_magnetostatics_lose_energy(name, shape):
    """α = 0.5: the energy of the symmetric readings falls monotonically (RK4 at |λ|dt = 0.35 is
    accurate to ~1e-4 per step, far below the per-step decrease), |m| = 1 on occupied cells and vacant
    cells stay empty."""
    mat = dataclasses.replace(PTCO, magnetostatics="thin_film")
    cfg = SolverConfig.of(name, compile=False, device="cpu")
    grid = Grid(shape, mat.a)
    sigma, tau = [10 * NM], [3 * NM]
    mask = vacancy_masks(shape[0], mat.a, sigma, tau, 2, seed=1)[:, None] if name == "rtn_ensemble" else None
    m = random_state(shape, B=2 if mask is not None else 1, seed=4) * 0.4
    m[:, 2] += 1
    m = m / m.norm(dim=1, keepdim=True)
    if mask is None:
        system = build_system(cfg, mat, grid, sigma, tau, alpha=0.5)
    else:
        system = build_system(cfg, mat, grid, mask=mask[:, 0], alpha=0.5)
        m = m * mask
    assert {type(t) for t in system.extra} == {DMITerm, ThinFilmMagnetostatics}
    dt, _ = choose_time_step(system, 10e-15, 0.35)
    energies = [system.energy(m)]
    for _ in range(6):
        m = integrate(system, m, dt, 40, compile=False)
        energies.append(system.energy(m))
    e = torch.stack(energies)
    assert bool((e[1:] < e[:-1]).all())
    norm = m.norm(dim=1)
    occupied = torch.ones_like(norm) if mask is None else mask[:, 0]
    torch.testing.assert_close(norm, occupied, rtol=0, atol=1e-12)


def test_each_solver_filters_dmi_as_it_filters_exchange():
    grid, kw = Grid(64, PTCO.a), {"dtype": torch.float64, "device": None}
    sigma, tau = [10 * NM, 20 * NM], [5 * NM, 0.0]
    ex, dmi = SOLVERS["spsll"].exchange(PTCO, grid, sigma, tau, **kw), SOLVERS["spsll"].dmi(PTCO, grid, sigma, tau,
                                                                                               **kw)
    kappa = SOLVERS["psll"].exchange(PTCO, grid, None, None, **kw).kernel
    assert torch.equal(kappa * dmi.filt, ex.kernel)  # the one F(k) of the exchange
    m = random_state((64,))
    plain = SOLVERS["psll"].dmi(PTCO, grid, None, None, **kw)
    assert torch.equal(dmi.select(torch.tensor([1])).field(m[1:]), plain.field(m[1:]))  # τ = 0: exactly psll
    conv_ex = SOLVERS["spsll_convolution"].exchange(PTCO, grid, sigma, tau, **kw)
    conv = SOLVERS["spsll_convolution"].dmi(PTCO, grid, sigma, tau, **kw)
    assert torch.equal(conv.weight, conv_ex.weight)  # the one g(x) of the exchange
    ens = SOLVERS["rtn_ensemble"].dmi(PTCO, grid, sigma, tau, **kw)
    assert ens.filt is None and ens.weight is None
    no_dmi = build_system(PSLL, dataclasses.replace(PTCO, D=0.0), grid, alpha=0.1)
    assert no_dmi.extra == ()
