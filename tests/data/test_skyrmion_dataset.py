"""The skyrmion dataset (docs/data.md#skyrmions): layout, read-back, resume, shards, the stored image and labels
against each other and against the ideal film relaxed directly, the explicit-mosaic path, the reader, bad input.

Sizes are tiny (the 32-cell Pt/Co film of ``skyrmion_small``, cropped to 24 cells, a handful of samples, about
0.1 s each) so the file stays well under half a minute on one thread; the physics of the relaxation and of the
decision is tested in tests/physics/test_skyrmion_ensemble.py.
"""

import dataclasses
import subprocess

import h5py
import numpy as np
import pytest
import torch

from spsll.data import generation
from spsll.data.config import dataset_config
from spsll.data.generation import GenerationRequest, generate, merge_shards
from spsll.data.hdf5 import AXES, SAMPLE_FIELDS, DatasetError, partial_path
from spsll.data.provenance import physics_of_dataset
from spsll.data.reader import load, open_dataset
from spsll.data.sampling import sample_points
from spsll.data.skyrmion import crop_origins, periodic_crop, sample_masks
from spsll.data.skyrmion_datamodule import SkyrmionDataModule
from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.relaxed_texture import relax_texture
from spsll.physics.measure.texture import core_centre
from spsll.physics.solvers import SolverConfig
from tests.data.conftest import PY, ROOT, load_yaml

# (σ nm, τ nm, B T): two ideal films (one alive, one past the 32-cell film's collapse field), defect films on
# both sides of their collapse field
POINTS = [[20.0, 0.0, 0.15], [20.0, 0.0, 0.39], [10.0, 0.3, 0.15], [40.0, 0.5, 0.25], [8.0, 0.6, 0.38],
          [30.0, 0.1, 0.1]]


def merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def config(name: str = "skyrmion_small", **overrides) -> dict:
    """The dataset node of ``conf/dataset/<name>.yaml`` as Hydra composes it (its ``defaults`` merged)."""
    raw = load_yaml(f"dataset/{name}.yaml")
    base = config(raw["defaults"][0])["dataset"] if isinstance(raw["defaults"][0], str) else {}
    return {"dataset": merged(merged(base, raw["dataset"]), overrides)}


def request(path, *, solver: str = "spsll", material: str = "ptco", seed: int = 0, **overrides) -> GenerationRequest:
    node = config(path=str(path), **overrides)["dataset"]
    solver_cfg = SolverConfig.from_config({**load_yaml(f"solver/{solver}.yaml"), "device": "cpu"})
    return GenerationRequest(dataset_config(node), load_yaml(f"material/{material}.yaml"), solver_cfg, seed)


def small(path, **kw) -> GenerationRequest:
    kw.setdefault("sampling", "explicit")
    kw.setdefault("points", POINTS)
    kw.setdefault("chunk_size", 2)
    return request(path, **kw)


def arrays(path) -> dict:
    with h5py.File(path, "r") as f:
        kind = f.attrs["kind"]
        names = [*SAMPLE_FIELDS[kind], *AXES[kind]] + (["defect_mask"] if "defect_mask" in f else [])
        return {k: f[k][:] for k in names}


def assert_same(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k


@pytest.fixture(scope="module")
def sky_file(tmp_path_factory):
    return generate(small(tmp_path_factory.mktemp("sky") / "s.h5"), progress=False)


# -- configs and sampling --------------------------------------------------------------------
def test_the_configs_hold_survival_and_collapse_and_fit_the_explicit_mosaics():
    big, tiny = config("skyrmion")["dataset"], config("skyrmion_small")["dataset"]
    assert load_yaml("dataset/skyrmion.yaml")["defaults"][0] == {"override /material": "ptco"}
    # Pt/Co's ideal collapse field 0.306 T (docs/thresholds.md) lies inside the field range
    assert big["B_T"][0] < 0.306 < big["B_T"][1] and big["measurement"]["crop_cells"] <= big["measurement"]["n_cells"]
    for node in (big, tiny):  # the range's largest T fits min_box_over_T correlation lengths per side
        s, t = node["sigma_nm"][1], node["tau_nm"][1]
        assert node["measurement"]["n_cells"] / (s * t / (s + t)) >= node["measurement"]["min_box_over_T"]
    assert tiny["path"] == "data/skyrmion_small.h5" and tiny["n_samples"] <= 32


def test_the_field_is_the_third_axis_of_one_seeded_plan():
    node = config(path="x.h5", sampling="lhs", n_samples=40)["dataset"]
    pts = sample_points(dataset_config(node), 3)
    assert pts.shape == (40, 3) and np.array_equal(pts, sample_points(dataset_config(node), 3))
    lo, hi = node["B_T"]
    assert sorted(np.floor((pts[:, 2] - lo) / (hi - lo) * 40).astype(int)) == list(range(40))  # stratified in B
    assert not np.array_equal(pts, sample_points(dataset_config(node), 4))


# -- generation, resume, shards --------------------------------------------------------------
def test_the_file_holds_the_layout_and_reads_back(sky_file):
    data = load(sky_file, kind="skyrmion")
    n, c = len(POINTS), 24
    assert data["mz"].shape == (n, c, c) and data["mz"].dtype == np.float32
    assert data["x_nm"] == pytest.approx((np.arange(c) + 0.5 - c / 2) * 1.0) and np.array_equal(data["x_nm"],
                                                                                                 data["y_nm"])
    assert np.array_equal(np.stack([data["sigma_nm"], data["tau_nm"], data["B_T"]], 1), np.array(POINTS))
    for k in ("survived", "converged", "undecided", "grown", "pinned"):
        assert data[k].dtype == np.bool_, k
    assert "defect_mask" not in data and not data["pinned"].any()  # a reading has no vacancies
    attrs = data["attrs"]
    assert attrs["kind"] == "skyrmion" and attrs["solver"] == "spsll" and attrs["cell_nm"] == 1.0
    assert attrs["crop_cells"] == c and list(attrs["box_cells"]) == [32, 32] and attrs["mosaics_per_sample"] == 0
    assert "B_T: [0.1, 0.4]" in attrs["request"] and physics_of_dataset(sky_file).B_range_T == (0.1, 0.4)
    with h5py.File(sky_file, "r") as f:
        assert f["B_T"].attrs["units"].startswith("T") and f["energy_J"].attrs["units"].startswith("J")


def test_resume_after_a_kill_and_shards_give_the_data_of_one_run(tmp_path, sky_file, monkeypatch):
    whole = arrays(sky_file)
    req = small(tmp_path / "cut.h5")
    real, calls = generation.compute_chunk, {"n": 0}

    def dying(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # Ctrl-C during the second chunk
        return real(*a, **kw)

    monkeypatch.setattr(generation, "compute_chunk", dying)
    with pytest.raises(KeyboardInterrupt):
        generate(req, progress=False)
    with h5py.File(partial_path(req.target()), "r") as f:
        assert f["chunk_done"][:].tolist() == [1, 0, 0]
    with pytest.raises(DatasetError, match="interrupted.*1 of 3 chunks"):
        load(req.target())
    monkeypatch.setattr(generation, "compute_chunk", real)
    assert_same(arrays(generate(req, progress=False)), whole)
    for i in range(2):
        generate(small(tmp_path / "sh.h5", shard={"index": i, "count": 2}), progress=False)
    assert_same(arrays(merge_shards(small(tmp_path / "sh.h5", shard={"index": 0, "count": 2}))), whole)


# -- the labels ------------------------------------------------------------------------------
def test_the_image_and_the_labels_agree(sky_file):
    data = load(sky_file, kind="skyrmion")
    alive = data["survived"]
    assert alive.any() and (~alive).any()  # the points hold both fates
    assert np.array_equal(alive, np.isfinite(data["radius_nm"]))
    mid = slice(24 // 2 - 2, 24 // 2 + 2)  # the four cells around the crop's centre, and their neighbours
    for i in range(len(alive)):
        mz = data["mz"][i]
        if alive[i]:
            # the core is reversed at the crop's centre, Q = −1, and the skyrmion costs energy (metastable)
            assert mz[mid, mid].min() < 0 and data["Q"][i] == pytest.approx(-1, abs=0.1) and data["energy_J"][i] > 0
            x, y = core_centre(torch.as_tensor(mz, dtype=torch.float64))
            assert abs(x - 11.5) <= 0.5 + 1e-9 and abs(y - 11.5) <= 0.5 + 1e-9  # centred within half a cell
        else:  # collapsed to the uniform state: nothing reversed, no charge, no energy above uniform
            assert mz.min() > 0 and abs(data["Q"][i]) < 0.1 and abs(data["energy_J"][i]) < 1e-24
    assert not (data["undecided"] & alive).any() and not (data["grown"] & alive).any()
    assert data["converged"][alive].all()


def test_tau_zero_under_spsll_is_the_ideal_film_relaxed_directly(sky_file):
    """τ = 0 is the perfect film in every reading: relax_texture (psll, the field as the material's own Zeeman
    term) gives the stored radius and image."""
    data = load(sky_file, kind="skyrmion")
    phys = physics_of_dataset(sky_file)
    meas, mat = phys.measurement, phys.material
    grid = Grid((meas.n_cells, meas.n_cells), mat.a)
    rows = np.nonzero(data["tau_nm"] == 0)[0]
    assert len(rows) == 2
    for i in rows:
        b = float(data["B_T"][i])
        ideal = relax_texture(dataclasses.replace(mat, applied_field=(0.0, 0.0, b / mat.mu0)), grid, "skyrmion",
                              radius=meas.radius_nm * 1e-9, torque_tol=meas.torque_tol, max_iter=meas.max_iter)
        assert bool(ideal.survived[0]) == bool(data["survived"][i])
        if data["survived"][i]:
            assert data["radius_nm"][i] == pytest.approx(float(ideal.radius[0]) * 1e9, abs=1e-4)
            mz = ideal.m[0, 2].numpy()
            origin = crop_origins(np.array([core_centre(ideal.m[0, 2])]), meas.n_cells, meas.crop_cells)
            assert np.abs(periodic_crop(mz[None], origin, meas.crop_cells)[0] - data["mz"][i]).max() < 1e-4


def test_explicit_mosaics_one_film_per_sample_whatever_the_chunk(tmp_path, sky_file):
    pts = [[20.0, 0.0, 0.15], [10.0, 0.3, 0.15], [10.0, 0.3, 0.15], [30.0, 0.2, 0.12]]
    a = load(generate(small(tmp_path / "a.h5", solver="rtn_ensemble", points=pts, chunk_size=2), progress=False))
    assert a["attrs"]["solver"] == "rtn_ensemble" and a["attrs"]["mosaics_per_sample"] == 1
    mask = a["defect_mask"]
    assert mask.shape == (4, 24, 24) and mask.dtype == np.uint8
    assert not mask[0].any() and mask[1].any() and not np.array_equal(mask[1], mask[2])  # repeated point: new film
    assert (a["mz"][mask == 1] == 0).all()  # vacant cells hold no moment
    assert not (a["pinned"] & ~a["survived"]).any()
    # each crop is a window of the sample's whole mosaic, drawn from its own seed: the four drawn at once here,
    # two per chunk in the file
    ptco = Material.from_config(load_yaml("material/ptco.yaml"))
    full = (sample_masks((32, 32), ptco.a, [p[0] for p in pts], [p[1] for p in pts], range(4), 0,
                         SolverConfig.of("rtn_ensemble", device="cpu")) <= 0).to(torch.uint8).numpy()
    for i in (1, 2, 3):
        windows = [periodic_crop(full[i][None], np.array([[ox, oy]]), 24)[0] for ox in range(32) for oy in range(32)]
        assert any(np.array_equal(w, mask[i]) for w in windows)
    # τ = 0: no vacancy, the reading's ideal film up to the torque stop (1e-6 Ms; other batch companions)
    ideal = load(sky_file)
    assert a["survived"][0] and a["radius_nm"][0] == pytest.approx(ideal["radius_nm"][0], abs=1e-4)


def test_the_convolution_reading_stops_at_its_own_torque(tmp_path, sky_file):
    """spsll_convolution's torque stalls at 1e-5–5e-4 Ms far from the skyrmion (docs/thresholds.md): at the
    shared 1e-6 Ms it would never converge and nothing would survive; its 1e-4 Ms gives converged survivors,
    and at τ = 0 the ideal film's radius."""
    pts = [[20.0, 0.0, 0.15], [30.0, 0.1, 0.1]]
    path = generate(small(tmp_path / "c.h5", solver="spsll_convolution", points=pts), progress=False)
    data, ideal = load(path), load(sky_file)
    assert physics_of_dataset(path).measurement.torque_tol_of("spsll_convolution") == 1e-4
    assert data["survived"].all() and data["converged"].all()
    # its looser stop moves the radius by 5e-5 nm here
    assert data["radius_nm"][0] == pytest.approx(ideal["radius_nm"][0], abs=1e-3)


# -- the reader ------------------------------------------------------------------------------
def test_the_datamodule_yields_the_stored_rows(sky_file):
    data = load(sky_file, kind="skyrmion")
    dm = SkyrmionDataModule(sky_file, batch_size=4)
    info = dm.data_info
    tr = dm.indices["train"]
    assert info["cell_nm"] == 1.0 and info["crop_cells"] == 24 and info["box_cells"] == [32, 32]
    assert info["n_train"] == len(tr) == 5 and info["survival_fraction"] == pytest.approx(data["survived"][tr].mean())
    assert info["B_mean_T"] == pytest.approx(data["B_T"][tr].mean()) and not info["explicit"]
    seen = []
    for batch in dm.train_dataloader():
        i = batch["index"].numpy()
        seen += i.tolist()
        assert batch["image"].shape[1:] == (1, 24, 24) and batch["image"].dtype == torch.float32
        assert np.array_equal(batch["image"][:, 0].numpy(), data["mz"][i])
        assert np.array_equal(batch["params"].numpy(), np.stack([data["sigma_nm"][i], data["tau_nm"][i]], 1)
                              .astype(np.float32))
        assert np.array_equal(batch["survived"].numpy(), data["survived"][i])
        assert np.array_equal(batch["B_T"].numpy(), data["B_T"][i].astype(np.float32))
        assert np.array_equal(np.isnan(batch["radius_nm"].numpy()), ~data["survived"][i])
    assert sorted(seen) == sorted(tr.tolist())
    with pytest.raises(DatasetError, match="test split is empty"):
        dm.test_dataloader()


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"B_T": [0.4, 0.1]}, r"dataset.B_T is empty: max 0.1 < min 0.4"),
        ({"B_T": [-0.1, 0.4]}, r"dataset.B_T must be >= 0.*along \+z"),
        ({"B_T": [0.0, float("nan")]}, "dataset.B_T must be finite"),
        ({"B_T": None}, r"dataset.B_T must be \[min, max\]"),
        ({"B_T": 0.2}, r"dataset.B_T must be \[min, max\]"),
        ({"measurement": {"crop_cells": 40}}, r"crop_cells = 40 is larger than the box \(n_cells = 32\)"),
        ({"measurement": {"n_cells": 4}}, "n_cells must be an integer >= 8"),
        ({"measurement": {"torque_tol": 0.0}}, "measurement.torque_tol must be a finite number > 0"),
        ({"measurement": {"torque_tol_by_solver": {"spsl": 1e-4}}}, "torque_tol_by_solver has the key 'spsl'"),
        ({"sampling": "explicit", "points": [[10.0, 0.5]]}, r"points\[0\] must be \[sigma_nm, tau_nm, B_T\]"),
        ({"sampling": "explicit", "points": [[10.0, 0.5, -1.0]]}, r"points\[0\]: B_T must be finite and >= 0"),
    ],
)
def test_bad_config_values_name_the_key(overrides, match):
    with pytest.raises(ValueError, match=match):
        dataset_config(config(path="x.h5", **overrides)["dataset"])


def test_the_field_range_belongs_to_the_skyrmion_kind():
    node = load_yaml("dataset/domain_wall.yaml")
    with pytest.raises(ValueError, match="dataset.B_T is only used with dataset.kind=skyrmion"):
        dataset_config({**node, "path": "x.h5", "B_T": [0.0, 0.1]})


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"material": "fept"}, r"has no DMI .* cannot hold an isolated skyrmion, which collapses"),
        ({"solver": "rtn_ensemble", "tau_nm": [0.0, 2.0]}, r"dataset.sigma_nm/tau_nm: .* allows T <= 0.640 nm"),
        ({"solver": "rtn_ensemble", "points": [[50.0, 1.0, 0.1]]}, r"dataset.points: .*min_box_over_T = 50"),
        ({"measurement": {"radius_nm": 16.0}}, r"radius_nm = 16.0 does not fit the film of 32 cells"),
    ],
)
def test_bad_input_needing_the_material_is_refused_before_anything_is_written(tmp_path, kw, match):
    if "points" in kw:
        kw["sampling"] = "explicit"
    else:
        kw.setdefault("sampling", "uniform")
        kw.setdefault("points", None)
    with pytest.raises(ValueError, match=match):
        generate(small(tmp_path / "sub" / "x.h5", **kw), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_composes_pt_co_and_refuses_a_material_without_dmi(tmp_path):
    out = subprocess.run([PY, "generate.py", "dataset=skyrmion_small", "material=fept",
                          f"dataset.path={tmp_path / 'x.h5'}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "cannot hold an isolated skyrmion" in out.stderr + out.stdout
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DatasetError, match="no dataset at"):
        open_dataset(tmp_path / "x.h5", kind="skyrmion")
