"""Closed-form baselines (ridge, k-NN): what they fit, how they choose, and their checkpoints."""

import numpy as np
import pytest
import torch

from spsll.models import baselines as B
from spsll.tracking.runs import RunError, load_model
from tests.models.conftest import A_NM, k_grid


def info_for(params: torch.Tensor, n_features: int) -> dict:
    return {"params_mean": params.mean(0).tolist(), "params_std": params.std(0).clamp_min(1e-6).tolist(),
            "k_rad_per_nm": k_grid(n_features).tolist(), "lattice_constant_nm": A_NM}


def rows(batch: dict, idx) -> dict:
    return {k: v[idx] for k, v in batch.items()}


def linear_inverse_data(n: int, seed: int = 0) -> dict:
    """Observations x (n, 6) and σ, τ exactly linear in them."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 6, generator=g, dtype=torch.float64)
    sigma = 5 + x @ torch.tensor([10.0, 5.0, 3.0, 0.0, 2.0, 4.0], dtype=torch.float64)
    tau = 1 + x @ torch.tensor([0.0, 2.0, 1.0, 3.0, 0.5, 1.5], dtype=torch.float64)
    return {"dispersion": x, "params": torch.stack([sigma, tau], 1)}


def test_ridge_recovers_an_exactly_linear_inverse_relation():
    train = linear_inverse_data(60)
    # validation samples: midpoints of training samples, so that their σ, τ lie inside the train ranges
    val = {k: 0.5 * (v[:20] + v[20:40]) for k, v in train.items()}
    model = B.RidgeBaseline(info_for(train["params"], 6), targets="sigma_tau", lambdas=[1e-10, 1e-2, 1.0])
    assert model.fit(train, val) == {"lambda": 1e-10}
    pred = model.predict_physical(val)
    assert pred["params_nm"].dtype == torch.float32
    torch.testing.assert_close(pred["params_nm"].double(), val["params"], rtol=0, atol=1e-5)
    phi = val["params"][:, 0] / val["params"].sum(1)
    torch.testing.assert_close(pred["phi"].double(), phi, rtol=0, atol=1e-6)
    assert model.evaluate_split(val)["mae_sigma_nm"] < 1e-7  # float64 inside


def test_ridge_recovers_an_exactly_linear_forward_relation(dispersion_data):
    """Forward: the dispersion an exact linear function of [σ, τ, φ, T], the ridge's features."""
    info, ds = dispersion_data
    params = ds.t["params"].double()
    phi, t = params[:, 0] / params.sum(1), params.prod(1) / params.sum(1)
    feats = torch.stack([params[:, 0], params[:, 1], phi, t], 1)
    g = torch.Generator().manual_seed(3)
    disp = 2.0 + feats @ (0.1 * torch.randn(4, 64, generator=g, dtype=torch.float64))
    batch = {"params": params, "dispersion": disp}
    model = B.RidgeBaseline(info, direction="forward", lambdas=[1e-12, 1.0])
    model.fit(rows(batch, slice(0, 24)), rows(batch, slice(24, 32)))
    assert model.selected == {"lambda": 1e-12}
    out = model.predict_physical(rows(batch, slice(24, 32)))
    torch.testing.assert_close(out["dispersion_thz"].double(), disp[24:], rtol=0, atol=1e-5)
    assert torch.equal(out["k_rad_per_nm"], torch.tensor(info["k_rad_per_nm"], dtype=torch.float32))


def test_knn_with_one_neighbour_returns_the_nearest_training_target(dispersion_data):
    info, ds = dispersion_data
    batch = {"dispersion": ds.t["dispersion"], "params": ds.t["params"]}
    train, val = rows(batch, slice(0, 24)), rows(batch, slice(24, 32))
    model = B.KNNBaseline(info, targets="sigma_tau", ks=[1], pca_components=[0])
    model.fit(train, val)
    g = torch.Generator().manual_seed(1)
    queries = torch.cat([val["dispersion"], train["dispersion"][:8] + 1e-3 * torch.randn(8, 64, generator=g)])
    pred = model.predict_physical({"dispersion": queries})["params_nm"]
    x = train["dispersion"].double().numpy()
    mean, std = x.mean(0), x.std(0)
    std = np.maximum(std, 0.01 * std.max())
    z, zq = (x - mean) / std, (queries.double().numpy() - mean) / std
    nearest = ((zq[:, None, :] - z[None]) ** 2).sum(-1).argmin(1)
    assert torch.equal(pred, train["params"][nearest])
    assert (nearest[8:] == np.arange(8)).all()  # a slightly moved training curve finds itself


def test_knn_weights_neighbours_by_inverse_distance():
    """Two neighbours at distances 1 and 3 weigh 3:1."""
    x = torch.tensor([[0.0, 0.0], [4.0, 0.0], [10.0, 0.0], [20.0, 0.0]])
    params = torch.tensor([[10.0, 2.0], [30.0, 6.0], [40.0, 1.0], [45.0, 5.0]])
    model = B.KNNBaseline(info_for(params, 2), targets="sigma_tau", ks=[2], pca_components=[0])
    model.fit({"dispersion": x, "params": params}, {"dispersion": x[:1], "params": params[:1]})
    pred = model.predict_physical({"dispersion": torch.tensor([[1.0, 0.0]])})["params_nm"]  # 1 from x0, 3 from x1
    torch.testing.assert_close(pred, torch.tensor([[0.75 * 10 + 0.25 * 30, 0.75 * 2 + 0.25 * 6]]))


def test_ridge_penalty_is_chosen_on_the_split_it_is_given():
    """Validation targets at the train mean favour the strongest penalty, test targets (exact) the
    weakest: the choice follows the split passed as validation."""
    train = linear_inverse_data(60)
    rest = linear_inverse_data(20, seed=5)
    val = {"dispersion": rest["dispersion"], "params": train["params"].mean(0).expand(20, 2).clone()}
    info = info_for(train["params"], 6)
    on_val = B.RidgeBaseline(info, targets="sigma_tau", lambdas=[1e-8, 1e3]).fit(train, val)
    on_test = B.RidgeBaseline(info, targets="sigma_tau", lambdas=[1e-8, 1e3]).fit(train, rest)
    assert on_val == {"lambda": 1e3} and on_test == {"lambda": 1e-8}


def test_knn_k_is_chosen_on_the_split_it_is_given():
    """Training σ alternates 10, 30 along a line; validation points halfway between two with σ = 20
    need k = 2, test points next to one with its own σ need k = 1."""
    x = torch.stack([torch.arange(20.0), torch.zeros(20)], 1)
    params = torch.stack([10 + 20 * (torch.arange(20) % 2).double(), torch.full((20,), 5.0, dtype=torch.float64)], 1)
    train = {"dispersion": x, "params": params}
    val = {"dispersion": x[:-1] + torch.tensor([0.5, 0.0]),
           "params": torch.stack([torch.full((19,), 20.0), torch.full((19,), 5.0)], 1)}
    test = {"dispersion": x + torch.tensor([0.1, 0.0]), "params": params}
    info = info_for(params, 2)
    for targets in ("sigma_tau", "phi_T"):
        assert B.KNNBaseline(info, targets=targets, ks=[1, 2], pca_components=[0]).fit(train, val)["k"] == 2
        assert B.KNNBaseline(info, targets=targets, ks=[1, 2], pca_components=[0]).fit(train, test)["k"] == 1


def test_phi_T_targets_recover_sigma_tau_and_keep_phi_at_the_range_ends():
    p = torch.tensor([[5.0, 0.0], [20.0, 3.0], [50.0, 15.0], [7.0, 14.0]], dtype=torch.float64)
    bounds = torch.tensor([[5.0, 0.0], [50.0, 15.0]], dtype=torch.float64)
    torch.testing.assert_close(B.decode_params(B.encode_params(p, "phi_T"), "phi_T", bounds), p)
    # φ = 0.5 and T = 100 nm: σ = 200 nm clamps to 50, τ = 50 passes 15, so σ = τ = 15: φ kept
    out = B.decode_params(torch.tensor([[0.5, 100.0], [1.2, -1.0]], dtype=torch.float64), "phi_T", bounds)
    torch.testing.assert_close(out[0], torch.tensor([15.0, 15.0], dtype=torch.float64))
    assert out[1, 1] == 0 and 5 <= out[1, 0] <= 50  # φ ≥ 1: no defects, σ inside its range
    clipped = B.decode_params(torch.tensor([[60.0, -2.0]], dtype=torch.float64), "sigma_tau", bounds)
    assert clipped.tolist() == [[50.0, 0.0]]


@pytest.mark.parametrize(("name", "direction"), [("ridge", "inverse"), ("ridge", "forward"), ("knn", "inverse"),
                                                 ("knn", "forward")])
def test_checkpoint_round_trip_gives_identical_predictions(tmp_path, dispersion_data, name, direction):
    info, ds = dispersion_data
    batch = {"dispersion": ds.t["dispersion"], "params": ds.t["params"]}
    model = B.build_baseline(name, info, direction=direction)
    model.fit(rows(batch, slice(0, 24)), rows(batch, slice(24, 32)))
    path = tmp_path / "best.ckpt"
    model.save(path)
    assert torch.load(path, weights_only=True)["baseline"] == name  # plain data: the restricted loader reads it
    loaded = load_model(name, path)  # what evaluate.py calls
    assert type(loaded) is type(model) and loaded.selected == model.selected and not loaded.training
    assert (loaded.task, loaded.direction, loaded.targets) == ("dispersion", direction, "phi_T")
    for a, b in zip(model.predict_physical(batch).values(), loaded.predict_physical(batch).values(), strict=True):
        assert torch.equal(a, b)
    other = "knn" if name == "ridge" else "ridge"
    with pytest.raises(ValueError, match=f"not a {other} baseline checkpoint"):
        B.BASELINES[other].load_from_checkpoint(path)
    with pytest.raises(RunError, match=f"does not match model {other}"):
        load_model(other, path)
    with pytest.raises(RunError, match="does not match model inverse_cnn"):
        load_model("inverse_cnn", path)


def test_walls_use_the_profile_and_the_width(wall_data):
    info, ds = wall_data
    batch = ds.t
    model = B.build_baseline("ridge", info, task="domain_wall")
    model.fit(rows(batch, slice(0, 24)), rows(batch, slice(24, 32)))
    assert model.input_mean.shape == (65,)  # 64 m_z cells and the width
    out = model.predict_physical(rows(batch, slice(24, 32)))
    assert out["params_nm"].shape == (8, 2) and torch.isfinite(out["params_nm"]).all()
    with pytest.raises(ValueError, match="65"):
        model.predict_physical({"mz": batch["mz"][:, :32], "width_nm": batch["width_nm"]})


def test_unfitted_baseline_refuses_to_predict(dispersion_data):
    info, ds = dispersion_data
    with pytest.raises(RuntimeError, match="not fitted"):
        B.build_baseline("knn", info).predict_physical(ds.t)


@pytest.mark.parametrize(("name", "task", "hparams", "match"), [
    ("ridge", "dispersion", {"direction": "sideways"}, r"model.direction must be one of \['inverse', 'forward'\]"),
    ("ridge", "dispersion", {"targets": "phi"}, r"model.targets must be one of \['sigma_tau', 'phi_T'\]"),
    ("ridge", "dispersion", {"lambdas": []}, "model.lambdas must be a non-empty list of numbers > 0"),
    ("ridge", "dispersion", {"lambdas": [1.0, -1.0]}, "model.lambdas must be"),
    ("ridge", "dispersion", {"lambdas": 1.0}, "model.lambdas must be"),
    ("knn", "dispersion", {"ks": [0, 1]}, "model.ks must be a non-empty list of integers >= 1"),
    ("knn", "dispersion", {"ks": [1.5]}, "model.ks must be"),
    ("knn", "dispersion", {"pca_components": [-1]}, "model.pca_components must be a non-empty list of integers >= 0"),
    ("knn", "dispersion", {"lambdas": [1.0]}, r"model knn has no hyper-parameter\(s\) \['lambdas'\]"),
    ("knn", "domain_wall", {"direction": "forward"}, "forward predicts dispersions .* needs a dispersion dataset"),
    ("lasso", "dispersion", {}, "unknown baseline 'lasso'"),
])
def test_bad_hyperparameters_are_named(name, task, hparams, match):
    with pytest.raises(ValueError, match=match):
        B.check_hyperparameters(name, task, hparams, "model.")


def test_constructor_checks_its_arguments(wall_data):
    info, _ = wall_data
    with pytest.raises(ValueError, match="direction=forward predicts dispersions"):
        B.build_baseline("ridge", info, task="domain_wall", direction="forward")
    with pytest.raises(ValueError, match="'k_rad_per_nm'"):
        B.build_baseline("ridge", info, task="dispersion")


def test_ridge_fitted_for_the_input_noise_survives_it():
    """Twenty features dominated by a nuisance (τ) that carry φ only in faint differences: a noiseless ridge
    recovers φ from those differences with huge weights, which 0.01 of input noise turns into garbage;
    the fit with input_noise=0.01 keeps small weights and a much smaller error under that noise."""
    g = torch.Generator().manual_seed(5)
    n, f = 400, 20
    params = torch.stack([5 + 45 * torch.rand(n, generator=g, dtype=torch.float64),
                          15 * torch.rand(n, generator=g, dtype=torch.float64)], 1)
    phi = params[:, 0] / params.sum(1)
    faint = 1e-3 * torch.randn(f, generator=g, dtype=torch.float64)
    x = params[:, 1:2] / 15 + faint * phi[:, None]
    batch = {"dispersion": x, "params": params}
    train, val = rows(batch, slice(0, 300)), rows(batch, slice(300, 400))
    noisy = {**val, "dispersion": val["dispersion"] + 0.01 * torch.randn(100, f, generator=g, dtype=torch.float64)}
    errs, norms = {}, {}
    for nu in (0.0, 0.01):
        model = B.RidgeBaseline(info_for(params, f), lambdas=[1e-12], input_noise=nu)
        model.fit(train, val)
        errs[nu], norms[nu] = model.evaluate_split(noisy)["mae_phi"], float(model.weight.norm())
        if nu == 0.0:
            assert model.evaluate_split(val)["mae_phi"] < 1e-3  # noiseless: the faint differences suffice
    assert errs[0.01] < 0.5 * errs[0.0], errs
    assert norms[0.01] < 1e-2 * norms[0.0], norms
    with pytest.raises(ValueError, match="input_noise must be a number >= 0"):
        B.RidgeBaseline(info_for(params, f), input_noise=-1.0)
