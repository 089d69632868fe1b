"""Sampling plans (docs/data.md#sampling): ranges, stratification, reproducibility, split fractions."""

import numpy as np
import pytest

from spsll.data.config import dataset_config
from spsll.data.sampling import make_split, sample_parameters
from tests.data.conftest import load_yaml


def cfg(**kw):
    base = load_yaml("dataset/domain_wall.yaml")
    base.update(kw)
    return dataset_config(base)


@pytest.mark.parametrize("sampling", ["uniform", "lhs", "sobol"])
def test_plans_stay_in_range_and_are_seeded(sampling):
    c = cfg(sampling=sampling, n_samples=256, sigma_nm=[1.0, 100.0], tau_nm=[0.0, 20.0])
    s, t = sample_parameters(c, seed=5)
    assert s.shape == t.shape == (256,)
    assert s.min() >= 1.0 and s.max() <= 100.0 and t.min() >= 0.0 and t.max() <= 20.0
    s2, t2 = sample_parameters(c, seed=5)
    s3, _ = sample_parameters(c, seed=6)
    assert np.array_equal(s, s2) and np.array_equal(t, t2) and not np.array_equal(s, s3)


def test_lhs_is_stratified():
    n = 50
    s, t = sample_parameters(cfg(sampling="lhs", n_samples=n, sigma_nm=[0.5, 50.5], tau_nm=[0.0, 50.0]), 0)
    # a Latin hypercube puts exactly one point in each of the n equal bins of each axis
    assert sorted(np.floor((s - 0.5) / 1.0).astype(int)) == list(range(n))
    assert sorted(np.floor(t / 1.0).astype(int)) == list(range(n))


def test_explicit_points_in_order():
    s, t = sample_parameters(cfg(sampling="explicit", points=[[3.0, 1.0], [2.0, 0.0]]), 0)
    assert s.tolist() == [3.0, 2.0] and t.tolist() == [1.0, 0.0]


def test_split_fractions_and_determinism():
    lab = make_split(1000, [0.8, 0.1, 0.1], seed=0)
    assert np.bincount(lab).tolist() == [800, 100, 100]
    assert np.array_equal(lab, make_split(1000, [0.8, 0.1, 0.1], seed=0))
    assert not np.array_equal(lab, make_split(1000, [0.8, 0.1, 0.1], seed=1))
