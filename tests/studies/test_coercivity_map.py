"""The coercivity map and its design answer (spsll/studies/coercivity_map.py) on a synthetic hysteresis file
whose H_c is known: H_c = 0.9 − 0.2 τ/nm + N(0, 0.02²), independent of σ."""

import h5py
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from spsll.studies.coercivity_map import design_answer, load_map, run_study
from spsll.studies.common import CONF


def _file(path, n=160, *, kind="hysteresis", complete=True):
    rng = np.random.default_rng(0)
    sigma, tau = rng.uniform(3.3, 22.0, n), rng.uniform(0.34, 3.3, n)
    hc = 0.9 - 0.2 * tau + 0.02 * rng.standard_normal(n)
    converged = np.ones(n, bool)
    converged[:5] = False                                   # excluded from the map
    with h5py.File(path, "w") as f:
        f.attrs.update(kind=kind, complete=complete, n_cells=256, cell_nm=0.339)
        for k, v in dict(sigma_nm=sigma, tau_nm=tau, coercivity_HK=hc, converged=converged,
                         split=np.repeat([0, 1, 2], [112, 16, 32])).items():
            f[k] = v
    return path


def _cfg(tmp_path, data, *overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="studies/coercivity_map",
                       overrides=[f"data={data}", f"out={tmp_path / 'map.md'}", "grid=41", *overrides])


def test_the_map_recovers_a_known_coercivity_and_answers_the_design_question(tmp_path):
    path = run_study(_cfg(tmp_path, _file(tmp_path / "h.h5")), command="test")
    result = load_map(tmp_path / "map" / "map.json")
    assert result["n_excluded"] == 5 and result["n_test"] == 32
    assert result["test"]["mae_HK"] < 0.03                       # the noise is 0.02: the mean is near exact
    assert result["noise_std_HK"] == pytest.approx(0.02, rel=0.35)
    step = result["tau_nm"][1] - result["tau_nm"][0]
    for x in (0.3, 0.5, 0.7):
        a = design_answer(x, 10.0, result)
        assert a["typical_tau_max_nm"] == pytest.approx((0.9 - x) / 0.2, abs=1.5 * step)
        # P >= 0.9 needs the mean 1.28 noise std above x: 0.128 nm of τ less
        assert a["reliable_tau_max_nm"] == pytest.approx((0.9 - x - 1.28 * 0.02) / 0.2, abs=0.1 + 1.5 * step)
    assert design_answer(0.95, 10.0, result)["typical_tau_max_nm"] is None
    assert "not reached" in design_answer(0.95, 10.0, result)["sentence"]
    text = path.read_text()
    assert "| 0.5 | 10.0 |" in text and (tmp_path / "map" / "map.png").stat().st_size > 10_000


def test_bad_input_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no hysteresis dataset"):
        run_study(_cfg(tmp_path, tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="not hysteresis"):
        run_study(_cfg(tmp_path, _file(tmp_path / "d.h5", kind="dispersion")))
    with pytest.raises(ValueError, match="not complete"):
        run_study(_cfg(tmp_path, _file(tmp_path / "p.h5", complete=False)))
    with pytest.raises(ValueError, match="confidence must lie"):
        run_study(_cfg(tmp_path, _file(tmp_path / "c.h5"), "confidence=1.0"))
    run_study(_cfg(tmp_path, _file(tmp_path / "h.h5")), command="test")
    with pytest.raises(ValueError, match="outside the map's range"):
        design_answer(0.5, 40.0, load_map(tmp_path / "map" / "map.json"))
