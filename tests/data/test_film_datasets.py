"""Film (2D) datasets through generate.py: the box in the configs and the files, the ideal film against
the chain, resume, and the request check (docs/data.md#films).

The files here are the configs ``dispersion_2d_small`` / ``domain_wall_2d_small`` with their box
shrunk (a few rows, a short chain, a short record) so that the tests take seconds; the physics and
the code path are those of the full configs.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from spsll.data import generation
from spsll.data.cli import build_request, run_generate
from spsll.data.generation import GenerationRequest, generate
from spsll.data.hdf5 import FILM_FIELDS, DatasetError, partial_path, request_differences
from spsll.data.reader import load
from spsll.physics.material import Material
from tests.data.conftest import ROOT

A_NM = Material.fept().a * 1e9
CONFIG = {"dispersion": "dispersion_2d_small", "domain_wall": "domain_wall_2d_small"}
# films small enough for a test — a few rows are as many as thousands for the film's code path:
# dispersions 64 x 6 cells, 2 ps (Δf = 0.5 THz); walls 2N x M = 256 x 4 (the chain tests' N = 128)
SMALL = {"dispersion": {"n_cells": 64, "n_rows": 6, "duration_ps": 2.0},
         "domain_wall": {"n_cells": 128, "n_rows": 4, "n_harmonics": 200, "n_error_harmonics": 40}}
FIELDS = {"dispersion": ("sigma_nm", "tau_nm", "freq_thz", "freq_refined_thz", "split"),
          "domain_wall": ("sigma_nm", "tau_nm", "mz", "width_nm", "width_err_nm", "width_tanh_nm", "converged",
                          "max_torque", "row_width_mean_nm", "row_width_std_nm", "split")}


def compose_generate(config: str, *overrides: str):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("generate", overrides=[f"dataset={config}", "progress=false", *overrides])


def overrides(kind, path, measurement=None, solver=(), **dataset) -> list[str]:
    out = [f"dataset.path={path}", *solver]
    out += [f"dataset.measurement.{k}={v}" for k, v in (measurement or SMALL[kind]).items()]
    return out + [f"dataset.{k}={v}" for k, v in dataset.items()]


def film_request(kind, path, **kw) -> GenerationRequest:
    return build_request(compose_generate(CONFIG[kind], *overrides(kind, path, **kw)))


def chain_measurement(kind) -> dict:
    return {**SMALL[kind], "n_rows": 1}


def arrays(path, names):
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in names}


def largest_correlation_length_nm(sigma_nm, tau_nm) -> float:
    """T = στ/(σ+τ) grows with both, so its largest value in the box is at (σ_max, τ_max)."""
    s, t = float(sigma_nm[1]), float(tau_nm[1])
    return s * t / (s + t)


@pytest.mark.parametrize("kind", ["dispersion", "domain_wall"])
@pytest.mark.parametrize("suffix", ["_2d", "_2d_small"])
def test_the_film_configs_keep_the_1d_ranges_on_a_box_of_50_T(kind, suffix):
    film = build_request(compose_generate(kind + suffix)).dataset
    chain = build_request(compose_generate(kind)).dataset
    assert (film.sigma_nm, film.tau_nm, film.dtype) == (chain.sigma_nm, chain.tau_nm, chain.dtype)
    meas = film.measurement
    assert meas.n_rows > 1 and len(meas.box_cells) == 2
    # docs/physics.md#mosaic: every spectral statement about a mosaic needs L >= 50 T per side of the
    # simulated periodic box (N x M; walls 2N x M)
    T = largest_correlation_length_nm(film.sigma_nm, film.tau_nm)
    assert min(meas.box_cells) * A_NM >= 50 * T


@pytest.mark.parametrize("kind", ["dispersion", "domain_wall"])
def test_a_film_file_keeps_the_1d_layout_and_records_its_box(kind, tmp_path):
    path = run_generate(compose_generate(CONFIG[kind], *overrides(
        kind, tmp_path / "film.h5", sampling="explicit", points="[[20.0,5.0],[10.0,0.0],[8.0,12.0]]"),
        f"figures={kind == 'dispersion'}"))
    data = load(path, kind=kind)
    N, M = SMALL[kind]["n_cells"], SMALL[kind]["n_rows"]
    box = [N, M] if kind == "dispersion" else [2 * N, M]
    attrs = data["attrs"]
    assert attrs["n_rows"] == M and attrs["box_cells"].tolist() == box
    np.testing.assert_allclose(attrs["box_nm"], np.asarray(box) * A_NM, rtol=1e-12)
    assert f"n_rows: {M}" in attrs["request"]
    if kind == "dispersion":  # along k_x only
        assert data["freq_thz"].shape == data["freq_refined_thz"].shape == (3, N)
        assert data["k_rad_per_nm"].shape == (N,)
        assert (tmp_path / "film_figures" / "dispersions.png").stat().st_size > 1000
    else:  # the row-averaged profile of the stored window, and the rows' spread
        assert data["mz"].shape == (3, N) and data["x_nm"].shape == (N,)
        assert data["row_width_std_nm"].shape == data["row_width_mean_nm"].shape == (3,)
        assert data["converged"].all()
        # spsll keeps the film uniform along y (docs/physics.md#film-walls): every row is the same wall
        assert np.all(data["row_width_std_nm"] < 1e-9)
        np.testing.assert_allclose(data["row_width_mean_nm"], data["width_nm"], rtol=1e-12)
    # a chain file stays as it was before films: no n_rows in its request, no box attributes or extras
    chain = film_request(kind, tmp_path / "chain.h5", measurement=chain_measurement(kind), sampling="explicit",
                         points="[[20.0,5.0]]")
    assert "n_rows" not in chain.request_yaml()
    with h5py.File(generate(chain, progress=False), "r") as f:
        assert not {"n_rows", "box_cells", "box_nm"} & set(f.attrs)
        assert not set(FILM_FIELDS[kind]) & set(f)


def test_an_ideal_film_has_the_chains_peaks(tmp_path):
    """τ = 0 is the perfect film; a line excitation keeps it uniform along y, so every row is the chain
    and the row-averaged power is the chain's power: the same arg-max bins, and the same refined peaks up
    to the time step. A film takes the step of its 2D exchange bound (twice the chain's; also when it
    runs as its k_y = 0 line), and RK4 at |λ|dt ≤ 0.35 errs in frequency by at most (λdt)⁴/120 =
    1.3e-4 relative (docs/physics.md#integrators: 1.4 GHz at the zone edge), the finer film step less,
    so the two differ by at most that (measured 0.96e-4 at 10.7 THz)."""
    pts = "[[10.0,0.0],[40.0,0.0]]"
    film = load(generate(film_request("dispersion", tmp_path / "f.h5", sampling="explicit", points=pts),
                         progress=False))
    chain = load(generate(film_request("dispersion", tmp_path / "c.h5", measurement=chain_measurement("dispersion"),
                                       sampling="explicit", points=pts), progress=False))
    np.testing.assert_array_equal(film["k_rad_per_nm"], chain["k_rad_per_nm"])
    np.testing.assert_array_equal(film["freq_thz"], chain["freq_thz"])
    np.testing.assert_allclose(film["freq_refined_thz"], chain["freq_refined_thz"], rtol=1.3e-4, atol=0)


def test_an_ideal_film_has_the_chains_wall(tmp_path):
    """τ = 0: every row relaxes to the chain's wall, from another first minimiser step (the film's
    stiffness bound); both stop at max|m × H| ≤ 1e-7 Ms, which leaves m within ~|m × H|/H_K ≤
    1e-7 Ms/Hk = 1.4e-8 of the equilibrium: 1e-7 in m_z and relative in the widths is that bound with a
    margin (measured 2.9e-9 and 7e-9)."""
    pts = "[[10.0,0.0],[60.0,0.0]]"
    film = load(generate(film_request("domain_wall", tmp_path / "f.h5", sampling="explicit", points=pts),
                         progress=False))
    chain = load(generate(film_request("domain_wall", tmp_path / "c.h5", measurement=chain_measurement("domain_wall"),
                                       sampling="explicit", points=pts), progress=False))
    np.testing.assert_array_equal(film["x_nm"], chain["x_nm"])
    np.testing.assert_allclose(film["mz"], chain["mz"], rtol=0, atol=1e-7)
    for key in ("width_nm", "width_tanh_nm"):
        np.testing.assert_allclose(film[key], chain[key], rtol=1e-7, atol=0, err_msg=key)


def test_a_film_ensemble_stores_the_pinning_of_its_rows(tmp_path):
    """rtn_ensemble films keep what the ensemble measures beyond the widths: the pinned fraction of the
    row crossings, the width of the unpinned rows and the spread over realisations."""
    req = film_request("domain_wall", tmp_path / "e.h5", solver=("solver=rtn_ensemble", "solver.realisations=2"),
                       sampling="explicit", points="[[6.0,3.0],[10.0,0.0]]")
    data = load(generate(req, progress=False))
    assert set(FILM_FIELDS["domain_wall"]) <= set(data)
    assert data["attrs"]["solver"] == "rtn_ensemble" and data["attrs"]["box_cells"].tolist() == [256, 4]
    assert 0 <= data["pinned_fraction"][0] <= 1 and data["pinned_fraction"][1] == 0  # τ = 0: no vacancy
    # τ = 0: every realisation and row is the ideal wall, no spread
    assert data["row_width_std_nm"][1] < 1e-9 and data["width_std_nm"][1] < 1e-9
    np.testing.assert_allclose(data["width_unpinned_nm"][1], data["width_nm"][1], rtol=1e-10)


@pytest.mark.parametrize("kind", ["dispersion", "domain_wall"])
def test_an_interrupted_film_generation_resumes_to_the_same_data(kind, tmp_path, monkeypatch):
    def req(name):
        return film_request(kind, tmp_path / name, n_samples=6, chunk_size=2)

    whole = arrays(generate(req("whole.h5"), progress=False), FIELDS[kind])
    real, calls = generation.compute_chunk, {"n": 0}

    def dying(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # Ctrl-C during the second chunk
        return real(*a, **kw)

    monkeypatch.setattr(generation, "compute_chunk", dying)
    cut = req("cut.h5")
    with pytest.raises(KeyboardInterrupt):
        generate(cut, progress=False)
    with h5py.File(partial_path(cut.target()), "r") as f:
        assert f["chunk_done"][:].tolist() == [1, 0, 0] and f.attrs["n_rows"] == SMALL[kind]["n_rows"]
    monkeypatch.setattr(generation, "compute_chunk", real)
    resumed = arrays(generate(cut, progress=False), FIELDS[kind])
    for k in whole:
        assert resumed[k].dtype == whole[k].dtype and np.array_equal(resumed[k], whole[k]), k


@pytest.mark.parametrize("kind", ["dispersion", "domain_wall"])
def test_a_file_of_one_box_is_refused_for_another(kind, tmp_path):
    path, M = tmp_path / "film.h5", SMALL[kind]["n_rows"]
    generate(film_request(kind, path, n_samples=2, chunk_size=2), progress=False)
    for rows in (M + 2, 1):  # another film, and the chain
        other = film_request(kind, path, measurement={**SMALL[kind], "n_rows": rows}, n_samples=2, chunk_size=2)
        with pytest.raises(DatasetError, match="different config"):
            generate(other, progress=False)
        with h5py.File(path, "r") as f:  # what train.py names when it refuses the file
            diff = request_differences(f.attrs["request"], other.request_yaml())
        assert diff == {"dataset.measurement.n_rows": (M, rows if rows > 1 else "<absent>")}
    # an interrupted film is not resumed by a request for another box either
    path.rename(partial_path(tmp_path / "p.h5"))
    with pytest.raises(DatasetError, match="interrupted generation with a different config"):
        generate(film_request(kind, tmp_path / "p.h5", measurement={**SMALL[kind], "n_rows": M + 2},
                              n_samples=2, chunk_size=2), progress=False)


@pytest.mark.parametrize("kind", ["dispersion", "domain_wall"])
@pytest.mark.parametrize("rows", [0, -3])
def test_bad_row_counts_are_refused_naming_the_key(kind, tmp_path, rows):
    with pytest.raises(ValueError, match=r"dataset\.measurement\.n_rows must be an integer >= 1"):
        film_request(kind, tmp_path / "x.h5", measurement={**SMALL[kind], "n_rows": rows})
