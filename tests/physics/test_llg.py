"""The LL integrator: conservation, energy, convergence order, batching, failure (docs/physics.md#integrators)."""

import math

import pytest
import torch

from spsll.physics.checks import NonFiniteStateError
from spsll.physics.llg import choose_time_step, integrate
from spsll.physics.solvers import SolverConfig, build_system

NM = 1e-9


def random_texture(B, N, seed=0, amp=0.5):
    g = torch.Generator().manual_seed(seed)
    m = torch.zeros(B, 3, N, dtype=torch.float64)
    m[:, 2] = 1.0
    m[:, :2] = amp * torch.randn(B, 2, N, generator=g, dtype=torch.float64)
    return m / m.norm(dim=1, keepdim=True)


def system(fept, name, B=1, N=64, alpha=0.1, sigma=10 * NM, tau=5 * NM):
    return build_system(SolverConfig(name=name), fept, N, [sigma] * B, [tau] * B, alpha=alpha)


@pytest.mark.parametrize("name", ["psll", "spsll", "spsll_convolution"])
def test_norm_preserved_and_uniform_state_is_equilibrium(fept, name):
    sys_ = system(fept, name, B=2)
    m = random_texture(2, 64)
    dt, _ = choose_time_step(sys_, 10e-15, 0.35)
    out = integrate(sys_, m, dt, 200)
    # |m| = 1 is restored every step: round-off only
    assert torch.allclose(out.norm(dim=1), torch.ones(2, 64, dtype=torch.float64), atol=1e-14)
    uniform = torch.zeros(1, 3, 64, dtype=torch.float64)
    uniform[:, 2] = 1
    # the uniform state is an equilibrium of every reading (docs/physics.md#readings), including the spike
    assert float(system(fept, name).torque(uniform)) < 1e-6 * fept.Ms


@pytest.mark.parametrize("name", ["psll", "spsll"])
def test_energy_decreases_under_damping(fept, name):
    sys_ = system(fept, name, alpha=0.5)
    m = random_texture(1, 64, amp=0.3)
    dt, _ = choose_time_step(sys_, 10e-15, 0.35)
    energies = [float(sys_.energy(m))]
    for _ in range(20):
        m = integrate(sys_, m, dt, 10)
        energies.append(float(sys_.energy(m)))
    diffs = torch.tensor(energies).diff()
    # dE/dt = −αγμ0 μ0 Ms a Σ|m×H|² ≤ 0: strictly monotone, with a real drop
    assert bool((diffs < 0).all())
    assert energies[-1] < energies[0] - 0.1 * abs(energies[0] - energies[-1]) - 0


def test_energy_conserved_without_damping_to_fourth_order(fept):
    # α = 0 conserves E exactly; RK4's drift must shrink at least as dt⁴ (halving dt: ÷16; the
    # amplitude error of RK4 on oscillations is O(dt⁵) per unit time, measured ÷21–32 here).
    # At the production phase 0.35 the highest modes are pre-asymptotic (÷7.6), so compare
    # 0.175 → 0.0875 and check the production drift separately.
    sys_ = system(fept, "spsll", alpha=0.0)
    m0 = random_texture(1, 64, amp=0.3)
    e0 = float(sys_.energy(m0))
    T = 2e-12
    drifts = []
    for phase in (0.35, 0.175, 0.0875):
        dt, n_sub = choose_time_step(sys_, 10e-15, phase)
        m = integrate(sys_, m0, dt, round(T / dt))
        drifts.append(abs(float(sys_.energy(m)) - e0) / abs(e0))
    assert drifts[0] < 1e-3 and drifts[1] / drifts[2] > 12, drifts


def test_rk4_fourth_order_convergence(fept):
    sys_ = system(fept, "psll", alpha=0.05)
    m0 = random_texture(1, 64, amp=0.3)
    T = 200e-15
    ref = integrate(sys_, m0, T / 1600, 1600)
    errs = []
    for n in (25, 50, 100):
        errs.append(float((integrate(sys_, m0, T / n, n) - ref).abs().max()))
    ratios = [errs[i] / errs[i + 1] for i in range(2)]
    # fourth order: halving dt divides the error by 2⁴ = 16 (the projection keeps the order)
    for r in ratios:
        assert 12 < r < 20, (errs, ratios)


def test_batched_equals_one_at_a_time(fept):
    sigmas = [10 * NM, 40 * NM, 80 * NM]
    taus = [5 * NM, 2 * NM, 0.0]
    m0 = random_texture(3, 64, seed=3)
    cfg = SolverConfig(name="spsll")
    batched = build_system(cfg, fept, 64, sigmas, taus, alpha=0.1)
    dt, _ = choose_time_step(batched, 10e-15, 0.35)
    out = integrate(batched, m0, dt, 50)
    for i in range(3):
        single = build_system(cfg, fept, 64, sigmas[i], taus[i], alpha=0.1)
        one = integrate(single, m0[i : i + 1], dt, 50)
        torch.testing.assert_close(out[i : i + 1], one, rtol=0, atol=1e-13)


def test_non_finite_state_raises_with_sample_index(fept):
    sys_ = system(fept, "spsll", B=3)
    m = random_texture(3, 64)
    m[1, 0, 5] = math.nan
    with pytest.raises(NonFiniteStateError, match=r"sample\(s\) \[1\]") as err:
        integrate(sys_, m, 1e-15, 5)
    assert err.value.indices == [1]


def test_unstable_step_is_refused(fept):
    # a step beyond RK4's stability limit would silently return garbage (|m| is renormalised,
    # so it stays finite): integrate refuses it up front, naming the bound
    sys_ = system(fept, "psll", alpha=0.0)
    with pytest.raises(ValueError, match="stability"):
        integrate(sys_, random_texture(1, 64), 2e-13, 10)


def test_compile_failure_falls_back_to_eager(fept, monkeypatch):
    import spsll.physics.compiled as compiled

    def broken(fn, **kw):
        def fail(*a):
            raise RuntimeError("no C++ compiler")
        return fail

    monkeypatch.setattr(compiled.torch, "compile", broken)
    monkeypatch.setattr(compiled, "_CACHE", {})
    sys_ = system(fept, "psll")
    m = random_texture(1, 64)
    with pytest.warns(UserWarning, match="running eagerly"):
        out = integrate(sys_, m, 1e-15, 3, compile=True)
    torch.testing.assert_close(out, integrate(sys_, m, 1e-15, 3, compile=False), rtol=0, atol=0)


@pytest.mark.slow
def test_compiled_step_matches_eager(fept):
    # the fused (inductor) RK4 step is the same arithmetic up to round-off reassociation
    sys_ = system(fept, "spsll", B=2)
    m = random_texture(2, 64, seed=4)
    dt, _ = choose_time_step(sys_, 10e-15, 0.35)
    eager = integrate(sys_, m, dt, 40, compile=False)
    fused = integrate(sys_, m, dt, 40, compile=True)
    torch.testing.assert_close(fused, eager, rtol=0, atol=1e-12)
