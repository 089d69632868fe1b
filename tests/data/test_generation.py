"""Dataset generation: layout, reproducibility, resume, shards (docs/data.md)."""

import subprocess

import h5py
import numpy as np
import pytest
import torch

from spsll.data import generation
from spsll.data.generation import generate, merge_shards
from spsll.data.hdf5 import DatasetError, partial_path, shard_path
from spsll.data.reader import load
from spsll.physics.material import Material
from spsll.physics.measure.dispersion import simulate_dispersions
from spsll.physics.measure.domain_wall import relax_domain_walls
from tests.data.conftest import PY, ROOT, make_request

WALL_FIELDS = ("sigma_nm", "tau_nm", "mz", "width_nm", "width_err_nm", "width_tanh_nm", "converged",
               "max_torque", "split")


def arrays(path, fields=WALL_FIELDS):
    with h5py.File(path, "r") as f:
        return {k: f[k][:] for k in fields}


def assert_same_data(a, b):
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k  # byte-identical


def test_cli_writes_the_spec_layout(tmp_path):
    path = tmp_path / "walls.h5"
    cmd = [PY, "generate.py", "dataset=domain_wall_small", f"dataset.path={path}",
           "dataset.n_samples=20", "dataset.chunk_size=10", "seed=3", "progress=false"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    with h5py.File(path, "r") as f:
        for name in WALL_FIELDS + ("x_nm",):
            assert name in f, name
        assert f["mz"].shape == (20, 500) and f["x_nm"].shape == (500,)
        assert f["width_nm"].attrs["units"] == "nm" and f["max_torque"].attrs["units"] == "A/m"
        attrs = dict(f.attrs)
    for key in ("complete", "solver", "config", "version", "git_commit", "seed", "created"):
        assert key in attrs, key
    assert attrs["complete"] and attrs["solver"] == "spsll" and attrs["seed"] == 3
    assert "n_samples: 20" in attrs["config"]  # the resolved config, as YAML
    data = load(path, kind="domain_wall")
    assert set(np.unique(data["split"])) <= {0, 1, 2} and (data["split"] == 0).sum() == 16
    assert data["converged"].all() and (data["sigma_nm"] >= 1).all() and (data["tau_nm"] <= 20).all()
    # widths follow the physics: narrower with more defects (w ≈ w0 √φ)
    phi = data["sigma_nm"] / (data["sigma_nm"] + data["tau_nm"])
    assert np.corrcoef(phi, data["width_tanh_nm"])[0, 1] > 0.9
    assert (tmp_path / "walls_figures" / "width_over_sigma_tau.png").stat().st_size > 1000
    # the same command again is a no-op on a complete file with the same config
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "nothing to do" in again.stderr + again.stdout, again.stdout


def test_same_seed_same_data_other_seed_other_points(wall_request):
    a = arrays(generate(wall_request("a.h5", seed=1), progress=False))
    b = arrays(generate(wall_request("b.h5", seed=1), progress=False))
    c = arrays(generate(wall_request("c.h5", seed=2), progress=False))
    assert_same_data(a, b)
    assert not np.array_equal(a["sigma_nm"], c["sigma_nm"])


def test_explicit_points_reproduce_the_physics_engine(tmp_path):
    pts = [[22.9, 3.0], [15.1, 12.4], [10.0, 5.0]]
    mat = Material.fept()
    req = make_request("dispersion", tmp_path / "d.h5", sampling="explicit", points=pts)
    d = load(generate(req, progress=False))
    np.testing.assert_array_equal(d["sigma_nm"], [p[0] for p in pts])  # exactly, in order
    s = torch.tensor(pts, dtype=torch.float64) * 1e-9
    ref = simulate_dispersions(mat, s[:, 0], s[:, 1], solver=req.physics_solver,
                               settings=req.dataset.measurement.settings())
    np.testing.assert_array_equal(d["freq_thz"], ref.freq_thz.numpy())
    np.testing.assert_array_equal(d["freq_refined_thz"], ref.freq_refined_thz.numpy())
    np.testing.assert_allclose(d["k_rad_per_nm"], ref.k_rad_per_nm.numpy())

    req = make_request("domain_wall", tmp_path / "w.h5", sampling="explicit", points=pts)
    w = load(generate(req, progress=False))
    ref = relax_domain_walls(mat, s[:, 0], s[:, 1], solver=req.physics_solver,
                             settings=req.dataset.measurement.settings())
    np.testing.assert_array_equal(w["width_nm"], ref.width_nm.numpy())
    np.testing.assert_array_equal(w["mz"], ref.mz.numpy())


def test_resume_after_interruption_gives_the_same_data(wall_request, monkeypatch):
    whole = arrays(generate(wall_request("whole.h5"), progress=False))
    req = wall_request("cut.h5")
    real = generation.compute_chunk
    calls = {"n": 0}

    def dying(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the user presses Ctrl-C during the third chunk
        return real(*a, **kw)

    monkeypatch.setattr(generation, "compute_chunk", dying)
    with pytest.raises(KeyboardInterrupt):
        generate(req, progress=False)
    target = req.target()
    assert not target.exists() and partial_path(target).exists()  # never looks complete
    with h5py.File(partial_path(target), "r") as f:
        assert f["chunk_done"][:].tolist() == [1, 1, 0, 0, 0] and not f.attrs["complete"]
    with pytest.raises(Exception, match="interrupted.*2 of 5 chunks.*resume"):
        load(target)
    monkeypatch.setattr(generation, "compute_chunk", real)
    assert_same_data(arrays(generate(req, progress=False)), whole)


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    """A real kill -9 mid-run; the same command then completes with the uninterrupted data."""
    path = tmp_path / "k.h5"
    cmd = [PY, "generate.py", "dataset=domain_wall_small", f"dataset.path={path}", "dataset.n_samples=400",
           "dataset.chunk_size=8", "progress=false", "figures=false", "threads=1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    part = partial_path(path)
    killed_at = None
    try:
        for _ in range(6000):
            if proc.poll() is not None:
                break
            try:
                with h5py.File(part, "r", locking=False) as f:
                    n_done = int(f["chunk_done"][:].sum())
            except (OSError, KeyError):
                n_done = 0
            if n_done >= 3:
                proc.kill()
                killed_at = n_done
                break
            subprocess.run(["sleep", "0.02"])
    finally:
        proc.kill()
        proc.wait()
    assert killed_at is not None and not path.exists(), "the run finished before it could be killed"
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "resuming" in out.stdout + out.stderr, out.stdout + out.stderr
    ref = subprocess.run(cmd[:3] + [f"dataset.path={tmp_path / 'ref.h5'}"] + cmd[4:], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert ref.returncode == 0, ref.stderr
    assert_same_data(arrays(path), arrays(tmp_path / "ref.h5"))


def test_shards_merge_to_the_same_data_as_one_run(wall_request):
    whole = arrays(generate(wall_request("one.h5"), progress=False))
    for i in range(3):
        generate(wall_request("sh.h5", shard={"index": i, "count": 3}), progress=False)
    with pytest.raises(DatasetError, match="different config"):  # shards of another request
        merge_shards(wall_request("sh.h5", seed=9, shard={"index": 0, "count": 3}))
    merged = merge_shards(wall_request("sh.h5", shard={"index": 0, "count": 3}))
    assert_same_data(arrays(merged), whole)
    assert load(merged)["attrs"]["complete"]


def test_merge_refuses_missing_shard(wall_request):
    generate(wall_request("m.h5", shard={"index": 0, "count": 2}), progress=False)
    with pytest.raises(Exception, match="missing shard"):
        merge_shards(wall_request("m.h5", shard={"index": 0, "count": 2}))


@pytest.mark.slow
def test_joblib_launcher_sweeps_shards_then_merge(tmp_path):
    path = tmp_path / "j.h5"
    common = ["dataset=domain_wall_small", f"dataset.path={path}", "dataset.n_samples=32",
              "dataset.chunk_size=8", "progress=false", "threads=1",
              f"hydra.sweep.dir={tmp_path / 'multirun'}"]
    out = subprocess.run([PY, "generate.py", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                          "dataset.shard.count=2", "dataset.shard.index=0,1", *common],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert shard_path(path, 0, 2).exists() and shard_path(path, 1, 2).exists()
    out = subprocess.run([PY, "generate.py", "dataset.shard.count=2", "merge=true", *common[:-1]],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    one = tmp_path / "one.h5"
    out = subprocess.run([PY, "generate.py", *common[:1], f"dataset.path={one}", *common[2:-1]],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert_same_data(arrays(path), arrays(one))
