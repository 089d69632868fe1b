"""The fitted-filter study (spsll/studies/fitted_filter): the per-point step fit and the smooth fit recover
known filters, the config refuses what would make the validation dishonest, and the whole study runs end
to end at a tiny size (cache, report, figures, JSON)."""

import json
import math
from dataclasses import replace

import pytest
import torch

from spsll.physics.defects.fitted import FittedFilterParams
from spsll.physics.material import Material
from spsll.physics.measure.dispersion import DispersionSettings
from spsll.physics.measure.domain_wall import WallSettings
from spsll.studies.common import compose_study
from spsll.studies.fitted_filter.compute import run_fitted_study
from spsll.studies.fitted_filter.config import FittedStudyConfig
from spsll.studies.fitted_filter.fit import fit_point, fit_smooth, model_peaks
from spsll.studies.fitted_filter.report import write_report
from spsll.studies.validation.film_config import FilmValidationConfig

NM = 1e-9


def _ideal(mat: Material, n=128):
    k = torch.fft.fftshift(2 * math.pi * torch.fft.fftfreq(n, d=mat.a, dtype=torch.float64))
    return k, mat.f_gap + mat.X0 * (1 - torch.cos(k * mat.a))


def test_the_step_fit_recovers_a_known_step():
    mat = Material.fept()
    k, f_id = _ideal(mat)
    kc_true = 4.1e9
    f_ens = model_peaks(f_id, k, 0.93, kc_true)
    out = fit_point(f_ens, f_id, k)
    assert abs(out["F0"] - 0.93) < 1e-12 and out["mae"] < 1e-6
    dk = float(k[1] - k[0])
    assert abs(out["k_cut"] - kc_true) <= dk  # the step lies between the same two grid points
    assert math.isinf(fit_point(f_id.clone(), f_id, k)["k_cut"])  # the whole branch kept: no cut


def test_the_smooth_fit_recovers_known_coefficients():
    true = FittedFilterParams(stiffness_slope=0.2, k_cut_rad_per_nm=1.3, k_cut_sigma_exponent=0.45,
                              k_cut_tau_exponent=-0.15)
    pts = [(5.0, 2.5), (8.0, 0.5), (20.0, 1.8), (40.0, 0.6), (12.0, 1.2)]
    s = torch.tensor([p[0] for p in pts], dtype=torch.float64) * NM
    t = torch.tensor([p[1] for p in pts], dtype=torch.float64) * NM
    params, resid = fit_smooth(pts, true.stiffness(s, t).tolist(), true.k_cut(s, t).tolist())
    for key in ("stiffness_slope", "k_cut_rad_per_nm", "k_cut_sigma_exponent", "k_cut_tau_exponent"):
        assert getattr(params, key) == pytest.approx(getattr(true, key), rel=1e-9, abs=1e-12)
    assert resid["log_k_cut_rms"] < 1e-10
    with pytest.raises(ValueError, match="at least 3 points with a cut"):
        fit_smooth(pts[:3], [1.0] * 3, [math.inf, 1e9, math.inf])


def test_the_config_keeps_held_out_points_and_seeds_apart():
    cfg = FittedStudyConfig.from_study(compose_study("fitted_filter"))
    assert not set(cfg.training_points_nm) & set(cfg.heldout_points_nm)
    assert cfg.film.dispersion.n_cells == 256 and cfg.film.n_rows == 256
    with pytest.raises(ValueError, match="must not be training points"):
        replace(cfg, heldout_points_nm=[cfg.training_points_nm[0]])
    with pytest.raises(ValueError, match="differ from fit.training_seed by at least 2"):
        replace(cfg, heldout_seed=cfg.training_seed + 1)
    with pytest.raises(ValueError, match="allows T <="):  # T = 11.5 nm does not fit the 86.8 nm box
        replace(cfg, heldout_points_nm=[(50.0, 15.0)])


def test_the_study_end_to_end_at_a_tiny_size(tmp_path):
    # 64 x 16 films for 2 ps (a 0.5 THz bin), 2 realisations; the box rule relaxed to 1 T
    film = FilmValidationConfig(dispersion=DispersionSettings(n_cells=64, duration=2e-12), n_rows=16,
                                reading_rows=(16,), realisations=2, wall_realisations=2, min_box_over_T=1.0,
                                walls=replace(WallSettings(), n_cells=32, n_harmonics=44, n_error_harmonics=8,
                                              max_iter=400),
                                wall_rows=8, compile=False)
    cfg = FittedStudyConfig(film=film, training_points_nm=[(4.0, 1.0), (8.0, 1.0), (16.0, 0.8), (6.0, 0.5)],
                            heldout_points_nm=[(10.0, 0.7)], wall_points_nm=[(10.0, 0.7)], cache=tmp_path / "cache")
    logs = []
    result = run_fitted_study(cfg, log=logs.append)
    n_cached = len(list((tmp_path / "cache").glob("*.pt")))
    assert n_cached == 4 + 1 + 1  # every ensemble point saved as it finished
    again = run_fitted_study(cfg, log=logs.append)  # the re-run reads the cache: the same numbers (to round-off
    assert again["params"] == pytest.approx(result["params"], rel=1e-12)  # of the least-squares solver)
    assert again["heldout"]["spsll_fitted"]["mae_thz"] == pytest.approx(result["heldout"]["spsll_fitted"]["mae_thz"],
                                                                        rel=1e-9)
    ho = result["heldout"]
    assert ho["closed_form_max_dev_thz"] < 0.5 * 0.5  # within half a 0.5 THz bin of the tiny run's refinement
    for name in ("spsll_fitted", "spsll", "psll"):
        assert len(ho[name]["mae_thz"]) == 1 and math.isfinite(ho[name]["mae_thz"][0])
    for name in ("fitted_stiffness", "spsll", "psll"):  # the step itself refuses to relax: its stiffness stands in
        assert len(result["walls"][name]["width_nm"]) == 1 and math.isfinite(result["walls"][name]["width_nm"][0])
    out = write_report(result, tmp_path / "fitted.md", command="python -m spsll.studies.fitted_filter (test)")
    text = out.read_text()
    assert "## Held-out points against fresh ensembles" in text and "{" not in text.replace("{{", "")
    for name in ("fit.png", "heldout.png", "branch.png", "fitted-filter.json"):
        assert (tmp_path / "fitted" / name).exists()
    saved = json.loads((tmp_path / "fitted" / "fitted-filter.json").read_text())
    assert saved["params"] == result["params"]
