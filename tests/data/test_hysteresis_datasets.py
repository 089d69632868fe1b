"""The hysteresis and microstructure datasets (docs/data.md#hysteresis, #microstructures): layout, read-back,
resume, shards, the stored labels against the hysteresis physics run directly, the mask statistics against
the telegraph process they sample, the hand features, and bad input.

Sizes are tiny (chains of 48 cells, a handful of sweeps) so that each test stays well under a minute on the
shared 2-core machine; the physics of the sweep itself is tested in tests/physics/test_hysteresis.py.
"""

import math
import subprocess

import h5py
import numpy as np
import pytest
import torch

from spsll.data import generation
from spsll.data.config import dataset_config
from spsll.data.generation import GenerationRequest, generate, merge_shards
from spsll.data.hdf5 import AXES, SAMPLE_FIELDS, DatasetError, partial_path
from spsll.data.hysteresis import DefectSettings, HysteresisMeasurement, check_start, sweep_masks
from spsll.data.mask_datamodule import ANCHORS, MaskDataModule
from spsll.data.microstructures import FEATURES, draw_masks, expected_mean_run_cells, mask_features, mask_seed
from spsll.data.provenance import physics_of_dataset
from spsll.data.reader import load, open_dataset
from spsll.physics.defects.masks import vacancy_masks
from spsll.physics.grid import Grid
from spsll.physics.hysteresis import Chains, run_sweep, summarise
from spsll.physics.material import Material
from spsll.physics.solvers import SolverConfig
from tests.data.conftest import PY, ROOT, load_yaml

A_NM = 0.339  # FePt lattice constant: the cell size of every chain here
SMALL = {"n_cells": 48}  # 16 nm chains: a few defect runs, sweeps of about a second


def merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def config(name: str, **overrides) -> tuple[dict, dict]:
    """(dataset node, material) of ``conf/dataset/<name>.yaml`` as Hydra composes it with material=fept."""
    raw, material = load_yaml(f"dataset/{name}.yaml"), load_yaml("material/fept.yaml")
    if "dataset" in raw:  # the hysteresis configs are global: they also set the material's magnetostatics
        material.update(raw.get("material", {}))
        raw = raw["dataset"]
    raw.pop("defaults", None)
    return merged(raw, overrides), material


def request(name: str, path, seed: int = 0, material: dict | None = None, **overrides) -> GenerationRequest:
    node, mat = config(name, path=str(path), **overrides)
    solver = SolverConfig.from_config({**load_yaml("solver/spsll.yaml"), "device": "cpu"})
    return GenerationRequest(dataset_config(node), {**mat, **(material or {})}, solver, seed)


def hyst(path, **kw) -> GenerationRequest:
    kw.setdefault("n_samples", 4)
    kw.setdefault("chunk_size", 2)
    kw["measurement"] = merged(SMALL, kw.get("measurement", {}))
    return request("hysteresis", path, **kw)


def micro(path, **kw) -> GenerationRequest:
    kw.setdefault("n_samples", 40)
    kw.setdefault("chunk_size", 10)
    return request("microstructures", path, **kw)


def arrays(path) -> dict:
    with h5py.File(path, "r") as f:
        kind = f.attrs["kind"]
        return {k: f[k][:] for k in (*SAMPLE_FIELDS[kind], *AXES[kind])}


def assert_same(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k


@pytest.fixture(scope="module")
def hysteresis_file(tmp_path_factory):
    """Six soft-defect sweeps (three chunks) and their file."""
    path = tmp_path_factory.mktemp("hyst") / "h.h5"
    return generate(hyst(path, n_samples=6, chunk_size=2, seed=3), progress=False)


# -- configs ---------------------------------------------------------------------------------
def test_the_configs_share_the_sampler_and_the_chain_but_never_a_mask():
    h, material = config("hysteresis")
    m, _ = config("microstructures")
    for key in ("sigma_nm", "tau_nm", "sampling", "split"):
        assert h[key] == m[key], key
    assert h["measurement"]["n_cells"] == m["measurement"]["n_cells"] == 256
    # the ranges the docs state: σ 3–20 δ, τ from one cell to 3 δ (δ = 1.105 nm), across d_c = 1.97 δ
    assert h["sigma_nm"] == [3.3, 22.0] and h["tau_nm"][0] >= A_NM and h["tau_nm"][1] > 1.97 * 1.105
    assert material["shape_anisotropy"] is False and material["magnetostatics"] == "none"
    assert mask_seed("hysteresis", 0) != mask_seed("microstructures", 0)
    a = draw_masks(256, A_NM * 1e-9, [10.0], [2.0], mask_seed("hysteresis", 0))
    b = draw_masks(256, A_NM * 1e-9, [10.0], [2.0], mask_seed("microstructures", 0))
    assert not np.array_equal(a, b)
    small, _ = config("hysteresis_small")
    assert small["path"] == "data/hysteresis_small.h5" and small["n_samples"] < 100


# -- hand features ---------------------------------------------------------------------------
def test_the_hand_features_of_a_known_mask():
    a = A_NM * 1e-9
    mask = np.array([[0, 0, 1, 1, 1, 0, 1, 0, 0, 0], [0] * 10, [1] * 10])
    f = mask_features(mask, a)
    # row 0: runs of 3 and 1 cells; transitions m→d 2 (of 5 material cells with a right neighbour), d→m 2 (of 4)
    p_md, p_dm = 2 / 5, 2 / 4
    T = -A_NM / math.log(1 - p_md - p_dm)
    assert f["sigma_hat_nm"][0] == pytest.approx(T * (p_md + p_dm) / p_md, rel=1e-12)
    assert f["tau_hat_nm"][0] == pytest.approx(T * (p_md + p_dm) / p_dm, rel=1e-12)
    assert f["longest_defect_run_nm"][0] == pytest.approx(3 * A_NM) and f["defect_count"][0] == 2
    assert f["defect_fraction"][0] == pytest.approx(0.4)
    # no defect: τ̂ = 0 and σ̂ the chain (a run that never ends); all defect: the reverse
    assert (f["tau_hat_nm"][1], f["defect_count"][1], f["defect_fraction"][1]) == (0, 0, 0)
    assert f["sigma_hat_nm"][1] == pytest.approx(10 * A_NM)
    assert f["sigma_hat_nm"][2] == 0 and f["tau_hat_nm"][2] == pytest.approx(10 * A_NM)
    assert f["longest_defect_run_nm"][2] == pytest.approx(10 * A_NM) and f["defect_count"][2] == 1
    with pytest.raises(ValueError, match="only 0"):
        mask_features(np.array([[0, 2, 1]]), a)


@pytest.mark.parametrize(("sigma_nm", "tau_nm"), [(10.0, 2.0), (5.0, 0.339), (20.0, 3.3)])
def test_the_estimates_recover_sigma_and_tau_where_the_mean_run_length_does_not(sigma_nm, tau_nm):
    # 40 chains of 4096 cells: ≥ 40·4096 a/(σ+τ) ≈ 2400 runs of each state, so the relative standard error of
    # a mean run length is ≤ 1/√2400 = 2 %; the average of 40 per-chain ML estimates (≥ 60 runs each) carries an
    # O(1/60) ratio bias on top. Tolerance 6 %.
    a = A_NM * 1e-9
    masks = (1 - vacancy_masks(4096, a, [sigma_nm * 1e-9], [tau_nm * 1e-9], 40, 7)).to(torch.uint8).numpy()
    f = mask_features(masks, a)
    assert f["sigma_hat_nm"].mean() == pytest.approx(sigma_nm, rel=0.06)
    assert f["tau_hat_nm"].mean() == pytest.approx(tau_nm, rel=0.06)
    # the plain mean defect run length (cells × a) overestimates τ by (a/T)/(1 − e^{−a/T}) on the lattice:
    # 66 % at τ = one cell; the estimate above corrects it
    runs = [r for row in masks for r in np.diff(np.flatnonzero(np.diff(np.r_[0, row, 0])))[::2]]
    plain = np.mean(runs) * A_NM
    T = sigma_nm * tau_nm / (sigma_nm + tau_nm)
    assert plain / tau_nm == pytest.approx((A_NM / T) / -math.expm1(-A_NM / T), rel=0.06)


# -- microstructures -------------------------------------------------------------------------
def test_microstructures_generate_read_back_and_resume(tmp_path, monkeypatch):
    whole = arrays(generate(micro(tmp_path / "whole.h5"), progress=False))
    req = micro(tmp_path / "cut.h5")
    real, calls = generation.compute_chunk, {"n": 0}

    def dying(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # Ctrl-C during the third chunk
        return real(*a, **kw)

    monkeypatch.setattr(generation, "compute_chunk", dying)
    with pytest.raises(KeyboardInterrupt):
        generate(req, progress=False)
    with pytest.raises(DatasetError, match="interrupted.*2 of 4 chunks"):
        load(req.target())
    monkeypatch.setattr(generation, "compute_chunk", real)
    path = generate(req, progress=False)
    assert_same(arrays(path), whole)
    data = load(path, kind="microstructures")
    assert data["defect_mask"].shape == (40, 256) and data["defect_mask"].dtype == np.uint8
    assert data["x_nm"] == pytest.approx((np.arange(256) + 0.5) * A_NM)
    assert (data["split"] == 0).sum() == 32 and (data["split"] == 1).sum() == 4
    # each mask is the sampler's for its (σ, τ), whatever its chunk, and its features are those of the mask
    again = draw_masks(256, A_NM * 1e-9, data["sigma_nm"], data["tau_nm"], mask_seed("microstructures", 0))
    assert np.array_equal(again, data["defect_mask"])
    for k, v in mask_features(data["defect_mask"], A_NM * 1e-9).items():
        assert np.array_equal(v, data[k]), k
    attrs = data["attrs"]
    assert attrs["solver"] == "none" and attrs["n_cells"] == 256 and attrs["cell_nm"] == pytest.approx(A_NM)
    for key in ("version", "git_commit", "created", "request", "request_hash", "config", "seed", "generation_seconds"):
        assert key in attrs, key
    assert "solver" not in attrs["request"] and physics_of_dataset(path).measurement.n_cells == 256
    with pytest.raises(DatasetError, match="holds a microstructures dataset, but a hysteresis"):
        open_dataset(path, kind="hysteresis")


def test_microstructure_shards_merge_to_one_run(tmp_path):
    whole = arrays(generate(micro(tmp_path / "one.h5"), progress=False))
    for i in range(2):
        generate(micro(tmp_path / "sh.h5", shard={"index": i, "count": 2}), progress=False)
    assert_same(arrays(merge_shards(micro(tmp_path / "sh.h5", shard={"index": 0, "count": 2}))), whole)


def test_the_masks_have_the_statistics_of_their_sigma_and_tau(tmp_path):
    """Sampled at cell centres, the telegraph signal is a Markov chain: each step from a defect cell leaves the
    defect with probability p_dm = φ(1 − e^{−a/T}), independently, so the mean defect run is 1/p_dm cells, and
    Σ_b (n_dm − p_dm·stay_d) over all samples is a martingale sum of variance Σ_b p_dm(1 − p_dm)·stay_d
    (stay_d: defect cells with a right neighbour). Its z-score is standard normal whatever the chain ends cut
    off; |z| < 4 fails by chance with probability 6e-5, and a 5 % error in the mean run length would give
    |z| ≈ 0.05 √(Σ n_dm) ≈ 5 at this size. Likewise for the material runs and for the first cell (a defect
    with probability 1 − φ: stationarity)."""
    path = generate(micro(tmp_path / "stat.h5", n_samples=1500, chunk_size=500), progress=False)
    data = load(path, kind="microstructures")
    d = data["defect_mask"].astype(np.int64)
    s, t = data["sigma_nm"], data["tau_nm"]
    runs_m, runs_d = np.array([expected_mean_run_cells(a, b, A_NM * 1e-9) for a, b in zip(s, t, strict=True)]).T
    p_md, p_dm = 1 / runs_m, 1 / runs_d
    left, right = d[:, :-1], d[:, 1:]
    for p, here, there in ((p_dm, 1, 0), (p_md, 0, 1)):
        stay = (left == here).sum(1)
        leave = ((left == here) & (right == there)).sum(1)
        z = (leave - p * stay).sum() / math.sqrt((p * (1 - p) * stay).sum())
        assert abs(z) < 4, (here, z)
        # the pooled mean run length (cells) against its expectation, for the record of the tolerance
        assert stay.sum() / leave.sum() == pytest.approx(stay.sum() / (p * stay).sum(), rel=4 / math.sqrt(leave.sum()))
    phi = s / (s + t)
    z0 = (d[:, 0] - (1 - phi)).sum() / math.sqrt((phi * (1 - phi)).sum())
    assert abs(z0) < 4
    assert (s >= 3.3).all() and (s <= 22).all() and (t >= 0.34).all() and (t <= 3.3).all()


# -- hysteresis ------------------------------------------------------------------------------
def test_the_hysteresis_file_holds_the_layout_and_reads_back(hysteresis_file):
    data = load(hysteresis_file, kind="hysteresis")
    n, K = 6, 421
    assert data["H_HK"] == pytest.approx(np.arange(K) * 0.0025) and data["H_HK"][-1] == pytest.approx(1.05)
    assert data["M_over_Ms"].shape == (n, K) and data["defect_mask"].shape == (n, 48)
    assert data["H_at_levels_HK"].shape == (n, 5) and data["M_over_Ms_at_fields"].shape == (n, 2)
    assert list(data["anchor_levels_M_over_Ms"]) == [0.99, 0.9, 0.5, 0.0, -0.9]
    assert list(data["anchor_fields_HK"]) == [0.1, 0.2]
    assert data["reversal_mode"].dtype == np.int8 and data["converged"].dtype == np.bool_
    attrs = data["attrs"]
    assert attrs["kind"] == "hysteresis" and attrs["solver"] == "hysteresis_sweep" and attrs["seed"] == 3
    assert attrs["H_K_A_per_m"] == 7e6 and attrs["defect_kind"] == "soft" and attrs["kappa"] == 0.0
    assert attrs["geometry"] == "wire" and "reverse field" in attrs["field_convention"]
    with h5py.File(hysteresis_file, "r") as f:
        assert f["coercivity_HK"].attrs["units"] == "H_K" and f["sigma_hat_nm"].attrs["units"] == "nm"
    # saturated at the start, reversed at the end, never increasing along the reverse field; H_c is where
    # the stored curve crosses 0 (to the grid's interpolation over a jump: one grid step)
    M = data["M_over_Ms"]
    assert (M[:, 0] > 0.999).all() and (M[:, -1] < -0.99).all() and (np.diff(M, axis=1) < 1e-6).all()
    for i in range(n):
        cross = np.interp(0.0, -M[i], data["H_HK"])
        assert cross == pytest.approx(data["coercivity_HK"][i], abs=0.0025)
    assert (data["nucleation_field_HK"] <= data["coercivity_HK"] + 1e-9).all()
    # a model's view of the same rows
    dm = MaskDataModule(hysteresis_file, "hysteresis", batch_size=2)
    assert dm.data_info["H_HK"] == pytest.approx(data["H_HK"]) and dm.data_info["anchors"] == list(ANCHORS)
    for batch in dm.val_dataloader():
        i = batch["index"].numpy()
        assert batch["mask"].shape[1] == 48 and batch["curve"].shape[1] == K and batch["features"].shape[1] == 5
        want = np.concatenate([data["H_at_levels_HK"][i], data["M_over_Ms_at_fields"][i]], 1).astype(np.float32)
        assert np.array_equal(batch["anchors"].numpy(), want)
        assert np.array_equal(batch["features"].numpy(), np.stack([data[k][i] for k in FEATURES], 1).astype(np.float32))


def test_the_stored_labels_are_what_the_hysteresis_physics_computes(hysteresis_file):
    """Every chunk swept again straight through the physics API — the masks drawn by the RTN sampler,
    Chains.build, run_sweep, summarise, keyed by the samples' indices — with the material and settings of the
    file's request: the stored anchors, H_c, H_N, modes, flags and curves are exactly what it computes; and
    each sample swept alone agrees within round-off (below)."""
    data = load(hysteresis_file, kind="hysteresis")
    phys = physics_of_dataset(hysteresis_file)
    material, settings = phys.material, phys.measurement.settings(int(data["attrs"]["seed"]))
    assert settings.torque_tol == 1e-6 and material.gap_field == 7e6 and phys.defects.kind == "soft"
    H_K, n = material.gap_field, len(data["sigma_nm"])
    masks = 1 - vacancy_masks(48, material.a, torch.as_tensor(data["sigma_nm"]) * 1e-9,
                              torch.as_tensor(data["tau_nm"]) * 1e-9, 1, mask_seed("hysteresis", 3))
    assert np.array_equal(masks.to(torch.uint8).numpy(), data["defect_mask"])
    wire = torch.zeros(50, dtype=torch.float64)  # one empty cell at each end: free ends
    wire[1:-1] = 1
    chains = torch.zeros(n, 50, dtype=torch.float64)
    chains[:, 1:-1] = masks
    summaries = []
    for lo in range(0, n, 2):  # the file's chunks of 2
        batch = Chains.build(material, Grid(50, material.a), "soft", chains[lo:lo + 2], kappa=0.0, geometry=wire,
                             keys=range(lo, lo + 2))
        summaries += [summarise(c, H_K, settings) for c in run_sweep(batch, H_K, settings)]
    for i, s in enumerate(summaries):
        assert np.array_equal([s.H_at_M[f"{lv:g}"] / H_K for lv in (0.99, 0.9, 0.5, 0.0, -0.9)],
                              data["H_at_levels_HK"][i])
        assert np.array_equal([s.M_at_H["0.1"], s.M_at_H["0.2"]], data["M_over_Ms_at_fields"][i])
        assert s.coercivity_A_per_m / H_K == data["coercivity_HK"][i]
        assert s.nucleation_field_A_per_m / H_K == data["nucleation_field_HK"][i]
        assert ["single jump", "spring then depinning", "continuous"][data["reversal_mode"][i]] == s.reversal_mode
        assert s.converged == data["converged"][i]
        assert np.array_equal(np.interp(data["H_HK"] * H_K, s.H_A_per_m, s.M), data["M_over_Ms"][i])
    # A sample alone: the physics does not depend on the batch, up to round-off. The FFT of a batch can move a
    # torque stop by an iteration, which can flip a refusal and so change which fields a sample visits (here
    # one sample of six took 45 instead of 47 fields). At the fields both sweeps accepted M agrees to the
    # torque stop (tol 1e-6 Ms over a spring's stiffness; measured ≤ 3.5e-6, asserted 1e-5); H_N (the midpoint
    # of a ΔH_min bracket) and the mode are the same; H_c, a jump bracketed to ΔH_min in both, within ΔH_min.
    for i, batch in enumerate(summaries):
        s = sweep_masks(material, phys.measurement, phys.defects, data["defect_mask"][i:i + 1], [i], 3)[0]
        common, ia, ib = np.intersect1d(s.H_A_per_m, batch.H_A_per_m, return_indices=True)
        assert len(common) >= 10 and np.abs(np.array(s.M)[ia] - np.array(batch.M)[ib]).max() < 1e-5
        assert s.nucleation_field_A_per_m == batch.nucleation_field_A_per_m
        assert s.reversal_mode == batch.reversal_mode
        assert abs(s.coercivity_A_per_m - batch.coercivity_A_per_m) / H_K <= settings.finest_HK


def test_vacancy_chains_reverse_coherently_at_H_K(tmp_path):
    """docs/hysteresis.md#theory: a segment between vacancies has free ends and no other inhomogeneity, so it
    reverses in one jump at exactly H_K; the sweep brackets it to ΔH_min = 0.0025 H_K."""
    path = generate(hyst(tmp_path / "vac.h5", n_samples=4, chunk_size=4, defects={"kind": "vacancy"}), progress=False)
    data = load(path, kind="hysteresis")
    assert data["attrs"]["defect_kind"] == "vacancy"
    assert (data["coercivity_HK"] >= 1.0).all() and (data["coercivity_HK"] <= 1.0025).all()
    assert (data["reversal_mode"] == 0).all()
    below = data["H_HK"] < 1.0
    assert (data["M_over_Ms"][:, below] > 0.999).all()


def test_hysteresis_resume_and_shards_give_the_data_of_one_run(tmp_path, hysteresis_file, monkeypatch):
    whole = arrays(hysteresis_file)
    req = hyst(tmp_path / "cut.h5", n_samples=6, chunk_size=2, seed=3)
    real, calls = generation.compute_chunk, {"n": 0}

    def dying(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(generation, "compute_chunk", dying)
    with pytest.raises(KeyboardInterrupt):
        generate(req, progress=False)
    with h5py.File(partial_path(req.target()), "r") as f:
        assert f["chunk_done"][:].tolist() == [1, 0, 0]
    monkeypatch.setattr(generation, "compute_chunk", real)
    assert_same(arrays(generate(req, progress=False)), whole)  # the tilt noise is seeded by the global index
    for i in range(3):
        generate(hyst(tmp_path / "sh.h5", n_samples=6, chunk_size=2, seed=3, shard={"index": i, "count": 3}),
                 progress=False)
    out = merge_shards(hyst(tmp_path / "sh.h5", n_samples=6, chunk_size=2, seed=3, shard={"index": 0, "count": 3}))
    assert_same(arrays(out), whole)


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "overrides", "match"),
    [
        ("hysteresis", {"sigma_nm": [22.0, 3.3]}, "dataset.sigma_nm is empty"),
        ("microstructures", {"tau_nm": [0.34, float("nan")]}, "dataset.tau_nm must be finite"),
        ("hysteresis", {"defects": {"kappa": -0.1}}, "dataset.defects.kappa must be a finite number >= 0"),
        ("hysteresis", {"defects": {"kappa": float("nan")}}, "dataset.defects.kappa"),
        ("hysteresis", {"defects": {"kind": "hard"}}, "dataset.defects.kind must be one of"),
        ("hysteresis", {"defects": {"thickness_nm": 1.0}}, r"dataset.defects has unknown key\(s\) \['thickness_nm'\]"),
        ("microstructures", {"defects": {"kind": "soft"}}, "only used with dataset.kind=hysteresis"),
        ("hysteresis", {"measurement": {"sweep": {"torque_tol": -1.0}}}, "sweep.torque_tol must be a finite number"),
        ("hysteresis", {"measurement": {"sweep": {"tol": 1.0}}}, r"sweep has unknown key\(s\) \['tol'\]"),
        ("hysteresis", {"measurement": {"field_max_HK": 1.5}}, "field_max_HK = 1.5 must lie between"),
        ("hysteresis", {"measurement": {"field_step_HK": 0.0}}, "field_step_HK must be > 0"),
        ("hysteresis", {"measurement": {"geometry": "disk"}}, "measurement.geometry must be one of"),
        ("microstructures", {"measurement": {"n_cells": 4}}, "n_cells must be an integer >= 8"),
        ("hysteresis", {"dtype": "float32"}, "dataset.dtype must be null for kind hysteresis"),
    ],
)
def test_bad_config_values_name_the_key(name, overrides, match):
    node, _ = config(name, path="x.h5", **overrides)
    with pytest.raises(ValueError, match=match):
        dataset_config(node)


@pytest.mark.parametrize(
    ("name", "overrides", "material", "match"),
    [
        ("hysteresis", {"tau_nm": [0.2, 3.3]}, None, r"dataset.tau_nm: a mean defect thickness of 0.2 nm is below "
                                                      r"one cell \(0.339 nm\)"),
        ("microstructures", {"sigma_nm": [0.3, 5.0]}, None, "dataset.sigma_nm: a mean material thickness"),
        ("microstructures", {"sampling": "explicit", "points": [[5.0, 0.1]]}, None,
         r"dataset.points \(its tau_nm\): a mean defect thickness of 0.1 nm"),
        # the thin-film shape term makes κ = 0 cells easy-plane: the default start at H = 0 would not saturate
        ("hysteresis", {}, {"shape_anisotropy": True, "magnetostatics": "local"},
         r"sweep.start_HK = 0.0 does not saturate every chain: .* κ_eff = -0.157"),
    ],
)
def test_bad_input_needing_the_material_is_refused_before_anything_is_written(tmp_path, name, overrides, material,
                                                                              match):
    req = request(name, tmp_path / "sub" / "x.h5", material=material, **overrides)
    with pytest.raises(ValueError, match=match):
        generate(req, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_reports_a_bad_value_and_writes_nothing(tmp_path):
    out = subprocess.run([PY, "generate.py", "dataset=hysteresis_small", f"dataset.path={tmp_path / 'x.h5'}",
                          "dataset.defects.kappa=-1"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "dataset.defects.kappa must be a finite number >= 0" in out.stderr + out.stdout
    assert list(tmp_path.iterdir()) == []


def test_sweep_masks_refuses_an_unsaturated_start_for_any_caller():
    material = Material.fept()  # with the shape term: κ_eff of a κ = 0 cell is (0 − Ms)/(Hk − Ms) = −0.157
    mask = np.zeros((1, 16), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"start_HK = 0.0 does not saturate"):
        sweep_masks(material, HysteresisMeasurement(n_cells=16), DefectSettings(), mask, [0], 0)
    # κ = 0.2 stays uniaxial under the shape term (κ_eff = (0.2 Hk − Ms)/(Hk − Ms) = 0.074): H = 0 saturates
    check_start(material, DefectSettings(kappa=0.2), 0.0)
    with pytest.raises(ValueError, match="κ_eff = -0.157"):
        check_start(material, DefectSettings(), -0.1)
    check_start(material, DefectSettings(), -0.2)
    check_start(material, DefectSettings(kind="vacancy"), 0.0)
