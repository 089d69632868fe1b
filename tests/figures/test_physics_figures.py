"""Fig. 1 b–f plotting functions (small inputs; the physics demo: tests/studies/test_demo.py)."""

import contextlib
import dataclasses

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from spsll.figures import physics as plots
from spsll.physics.measure.dispersion import DispersionSettings, simulate_dispersions
from spsll.physics.measure.domain_wall import WallSettings, relax_domain_walls
from spsll.physics.solvers import SolverConfig

NM = 1e-9
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@contextlib.contextmanager
def _one_thread():
    """The tiny RK4 runs here gain nothing from threads, and on a busy machine two torch threads
    spin-wait on each other and run them many times slower; restore the session's count after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small_dispersion(fept):
    settings = DispersionSettings(n_cells=64, duration=2e-12, keep_spectrum_below=12e12)
    with _one_thread():
        return simulate_dispersions(fept, [10 * NM, 10 * NM], [0.0, 5 * NM],
                                    solver=SolverConfig(name="spsll", device="cpu"),
                                    settings=settings)


@pytest.fixture(scope="module")
def small_walls(fept):
    settings = WallSettings(n_cells=64, n_harmonics=100, n_error_harmonics=20)
    with _one_thread():
        return relax_domain_walls(fept, [10 * NM, 10 * NM], [0.0, 5 * NM],
                                  solver=SolverConfig(name="spsll", device="cpu"),
                                  settings=settings)


def _check_saved(fig, path):
    out = plots.save(fig, path)
    assert out.exists() and out.stat().st_size > 1000
    assert out.read_bytes()[:8] == PNG_MAGIC
    return out


def _labels(ax):
    return ax.get_xlabel(), ax.get_ylabel()


def test_rtn_spectrum(fept, tmp_path):
    taus = np.linspace(0, 20, 41) * NM
    fig = plots.plot_rtn_spectrum(fept, 10 * NM, taus)
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # map + colour bar
    ax, cax = fig.axes
    xl, yl = _labels(ax)
    assert "(rad/nm)" in xl and "τ" in yl and "(nm)" in yl
    assert "(nm/rad)" in cax.get_ylabel()
    assert any("not drawn" in t.get_text() for t in ax.texts)  # the δ(k) term is stated
    k_lo, k_hi = ax.get_xlim()
    assert k_lo == pytest.approx(-np.pi / fept.a * NM, rel=0.01)
    assert k_hi == pytest.approx(np.pi / fept.a * NM, rel=0.01)
    _check_saved(fig, tmp_path / "nested" / "dir" / "b.png")
    # a cell size and explicit k are accepted too, and the linear colour scale
    fig2 = plots.plot_rtn_spectrum(fept.a, 10 * NM, torch.as_tensor(taus),
                                   torch.linspace(-1e9, 1e9, 11), log=False)
    assert len(fig2.axes) == 2
    with pytest.raises(ValueError):
        plots.plot_rtn_spectrum(fept, [10 * NM, 5 * NM], taus)  # σ must be one value
    with pytest.raises(ValueError):
        plots.plot_rtn_spectrum(fept, 10 * NM, taus[:, None])  # τ must be 1-D


def test_dispersion_spectrum(small_dispersion, fept, tmp_path):
    res = small_dispersion
    for index in (0, 1):
        fig = plots.plot_dispersion_spectrum(res, index, fept, title=f"case {index}")
        assert isinstance(fig, Figure) and len(fig.axes) == 2
        ax, cax = fig.axes
        xl, yl = _labels(ax)
        assert "(rad/nm)" in xl and "(THz)" in yl and cax.get_ylabel()
        assert ax.get_title() == f"case {index}"
        assert ax.get_ylim()[1] == pytest.approx(float(res.f[-1]) * 1e-12)  # cropped to the band
        dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        assert len(dashed) == 1 and dashed[0].get_color() == "red"
        np.testing.assert_allclose(dashed[0].get_ydata(), fept.ideal_frequency(res.k).numpy() * 1e-12)
    _check_saved(fig, tmp_path / "d.png")


def test_dispersion_spectrum_bad_input(small_dispersion, fept):
    res = small_dispersion
    with pytest.raises(ValueError, match="no stored spectrum"):
        plots.plot_dispersion_spectrum(dataclasses.replace(res, spectrum=None, f=None), 0, fept)
    with pytest.raises(ValueError, match="shape"):
        plots.plot_dispersion_spectrum(dataclasses.replace(res, f=res.f[:-1]), 0, fept)
    with pytest.raises(ValueError, match="index"):
        plots.plot_dispersion_spectrum(res, 2, fept)


def test_dispersion_curves(small_dispersion, fept, tmp_path):
    res = small_dispersion
    fig = plots.plot_dispersion_curves(res.k, {"σ = 10, τ = 0": res.freq_refined[0],
                                               "σ = 10, τ = 5 nm": res.freq_refined[1:2]}, fept)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    xl, yl = _labels(fig.axes[0])
    assert "(rad/nm)" in xl and "(THz)" in yl
    assert len(fig.axes[0].get_lines()) == 3  # two curves + the analytic one
    _check_saved(fig, tmp_path / "curves.png")
    with pytest.raises(ValueError):
        plots.plot_dispersion_curves(res.k, {"short": res.freq_refined[0, :-1]}, fept)
    with pytest.raises(ValueError):
        plots.plot_dispersion_curves(res.k, {}, fept)


def test_wall_profiles(small_walls, tmp_path):
    w = small_walls
    fig = plots.plot_wall_profiles(w.x, {"ideal": w.mz[0], "σ = 10, τ = 5 nm": w.mz[1].numpy()})
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    xl, yl = _labels(ax)
    assert "(nm)" in xl and "m_z" in yl
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ideal", "σ = 10, τ = 5 nm"]
    _check_saved(fig, tmp_path / "e.png")
    full = plots.plot_wall_profiles(w.x, {"one": w.mz[0:1]}, x_range_nm=None)
    assert full.axes[0].get_xlim()[1] >= float(w.x_nm[-1])
    with pytest.raises(ValueError):
        plots.plot_wall_profiles(w.x, {"short": w.mz[0, :-1]})
    with pytest.raises(ValueError):
        plots.plot_wall_profiles(w.x, {"two rows": w.mz})
    with pytest.raises(ValueError):
        plots.plot_wall_profiles(w.x, {})


def test_width_surface(tmp_path):
    s = np.linspace(2, 100, 5)
    t = np.linspace(0, 20, 4)
    S, T = np.meshgrid(s, t, indexing="ij")
    W = 3.7 - 2.5 * T / (S + T + 1)
    for args in ((s, t, W), (S, T, W), (torch.as_tensor(s), torch.as_tensor(t), torch.as_tensor(W))):
        fig = plots.plot_width_surface(*args)
        assert isinstance(fig, Figure) and len(fig.axes) == 2
        ax, cax = fig.axes
        xl, yl = _labels(ax)
        assert "σ" in xl and "(nm)" in xl and "τ" in yl and "(nm)" in yl
        assert "(nm)" in cax.get_ylabel()
    W_nan = W.copy()
    W_nan[0, 0] = np.nan  # a non-converged wall is left blank
    _check_saved(plots.plot_width_surface(s, t, W_nan), tmp_path / "f.png")
    with pytest.raises(ValueError):
        plots.plot_width_surface(s, t, W.T)  # (T, S) instead of (S, T)
    with pytest.raises(ValueError):
        plots.plot_width_surface(S, T[:, :-1], W)
    with pytest.raises(ValueError):
        plots.plot_width_surface(s, T, W)
