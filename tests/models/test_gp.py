"""The exact Gaussian process baseline: it interpolates a smooth function, its stated std covers the
errors at the rate a Gaussian predicts, ARD ignores an irrelevant input, and a saved state predicts the same."""

import numpy as np
import pytest

from spsll.models.gp import MAX_POINTS, GaussianProcess


def _data(n, seed, noise=0.05):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, size=(n, 2))          # column 1 carries no signal
    f = np.stack([np.sin(x[:, 0]), 0.5 * x[:, 0] ** 2], 1)
    return x, f + noise * rng.standard_normal(f.shape), f


def test_gp_recovers_a_smooth_function_with_calibrated_std():
    """150 noisy points (noise std 0.05): the mean's error on fresh inputs is near the noise-free function
    to well under the noise (a straight line misses sin by ~0.3), the fitted noise std is within 40 % of the
    true 0.05, and 95 % intervals cover 88-99 % of 400 fresh noisy targets (binomial 2-sigma band around 95 %
    is ±2.2 %; the rest is hyper-parameter error)."""
    x, y, _ = _data(150, 0)
    gp = GaussianProcess().fit(x, y)
    xq, yq, fq = _data(400, 1)
    mean, std = gp.predict(xq)
    assert np.abs(mean - fq).mean(0).max() < 0.03
    np.testing.assert_allclose(gp.noise_std, 0.05, rtol=0.4)
    covered = (np.abs(mean - yq) <= 1.96 * std).mean()
    assert 0.88 <= covered <= 0.99
    _, latent_std = gp.predict(xq, include_noise=False)
    assert (latent_std < std).all()


def test_ard_ignores_the_irrelevant_input():
    x, y, _ = _data(150, 2)
    ell = GaussianProcess().fit(x, y).length_scales
    assert (ell[:, 1] > 5 * ell[:, 0]).all()  # the noise column's scale exceeds the signal column's


def test_hyper_parameters_on_a_subset_still_fit():
    """Hyper-parameters from 40 of 150 points, the posterior on all 150: still well under the noise."""
    x, y, _ = _data(150, 0)
    xq, _, fq = _data(200, 1)
    mean, _ = GaussianProcess(hyper_points=40).fit(x, y).predict(xq)
    assert np.abs(mean - fq).mean(0).max() < 0.03


def test_state_round_trip_predicts_the_same():
    x, y, _ = _data(60, 3)
    gp = GaussianProcess().fit(x, y)
    again = GaussianProcess.from_state_dict(gp.state_dict())
    np.testing.assert_array_equal(gp.predict(x[:7])[0], again.predict(x[:7])[0])


def test_bad_input_is_refused():
    gp = GaussianProcess()
    with pytest.raises(RuntimeError, match="not fitted"):
        gp.predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        gp.fit(np.array([[0.0], [np.nan], [1.0]]), np.zeros(3))
    with pytest.raises(ValueError, match="3 samples but y has 2"):
        gp.fit(np.zeros((3, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="at least 3"):
        gp.fit(np.zeros((2, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="limit"):
        gp.fit(np.zeros((MAX_POINTS + 1, 1)), np.zeros(MAX_POINTS + 1))
    fitted = GaussianProcess().fit(np.arange(5.0)[:, None], np.arange(5.0))
    with pytest.raises(ValueError, match="columns"):
        fitted.predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="hyper_points must be"):
        GaussianProcess(hyper_points=2)
    with pytest.raises(ValueError, match="missing"):
        GaussianProcess.from_state_dict({"alpha": np.zeros(1)})
