"""Bad input to generation and reading: a clear error, and existing data untouched."""

import hashlib
import subprocess

import h5py
import pytest

from spsll.data.config import dataset_config
from spsll.data.generation import generate
from spsll.data.hdf5 import DatasetError, exclusive_lock
from spsll.data.reader import load, open_dataset
from tests.data.conftest import PY, ROOT, load_yaml


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cfg(**kw):
    base = load_yaml("dataset/domain_wall.yaml")
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"sigma_nm": [50.0, 10.0]}, "sigma_nm is empty"),
        ({"tau_nm": [-1.0, 5.0]}, "tau_nm must be >= 0"),
        ({"sigma_nm": [0.0, 10.0]}, "sigma_nm must be > 0"),
        ({"n_samples": 0}, "n_samples must be an integer >= 1"),
        ({"sampling": "grid"}, "sampling must be one of"),
        ({"kind": "magnetisation"}, "kind must be one of"),
        ({"split": [0.5, 0.2, 0.2]}, "split must be three fractions"),
        ({"sampling": "explicit", "points": [[-1.0, 2.0]]}, r"points\[0\]: sigma_nm"),
        ({"sampling": "explicit", "points": [[10.0, -2.0]]}, r"points\[0\]: tau_nm"),
        ({"sampling": "explicit", "points": [[10.0, float("nan")]]}, r"points\[0\]: tau_nm"),
        ({"sampling": "explicit", "points": []}, "needs dataset.points"),
        ({"points": [[10.0, 2.0]]}, "only used with dataset.sampling=explicit"),
        ({"n_samples": 10, "chunk_size": 10, "shard": {"index": 0, "count": 2}}, "exceeds the 1 chunks"),
        ({"measurement": {"method": "newton"}}, "wall method"),
    ],
)
def test_invalid_config_values(overrides, match):
    with pytest.raises(ValueError, match=match):
        dataset_config(cfg(**overrides))


def test_cli_reports_bad_value_and_writes_nothing(tmp_path):
    out = subprocess.run([PY, "generate.py", "dataset=domain_wall_small", f"dataset.path={tmp_path / 'x.h5'}",
                          "dataset.n_samples=0"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "n_samples must be an integer >= 1" in out.stderr + out.stdout
    assert list(tmp_path.iterdir()) == []


def test_existing_file_with_other_config_refused_then_overwritten(wall_request):
    path = generate(wall_request("e.h5", n_samples=16), progress=False)
    before = digest(path)
    with pytest.raises(DatasetError, match="different config.*overwrite=true"):
        generate(wall_request("e.h5", n_samples=24), progress=False)
    assert digest(path) == before
    generate(wall_request("e.h5", n_samples=24), progress=False, overwrite=True)
    assert len(load(path)["sigma_nm"]) == 24


def test_full_disk_keeps_existing_file(wall_request, monkeypatch):
    path = generate(wall_request("full.h5", n_samples=16), progress=False)
    before = digest(path)
    calls = {"n": 0}
    real_flush = h5py.File.flush

    def flush(self):
        calls["n"] += 1
        if calls["n"] > 2:
            raise OSError(28, "No space left on device")
        return real_flush(self)

    monkeypatch.setattr(h5py.File, "flush", flush)
    with pytest.raises(DatasetError, match="disk full.*resume.*was not touched"):
        generate(wall_request("full.h5", n_samples=24), progress=False, overwrite=True)
    monkeypatch.undo()
    assert digest(path) == before and load(path)["sigma_nm"].shape == (16,)


def test_unwritable_path(wall_request, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(DatasetError, match="cannot create the folder"):
        generate(wall_request("a_file/sub/x.h5"), progress=False)


def test_second_writer_is_refused(wall_request):
    req = wall_request("locked.h5")
    with exclusive_lock(req.target()):
        with pytest.raises(DatasetError, match="another generator is writing"):
            generate(req, progress=False)


def test_reader_refusals(wall_request, tmp_path):
    with pytest.raises(DatasetError, match="no dataset at .*python generate.py dataset=domain_wall"):
        open_dataset(tmp_path / "missing.h5", kind="domain_wall")
    bad = tmp_path / "corrupt.h5"
    bad.write_bytes(b"\x89HDF\r\n garbage" * 50)
    with pytest.raises(DatasetError, match="not a readable HDF5 file.*overwrite=true"):
        open_dataset(bad)
    path = generate(wall_request("r.h5", n_samples=16), progress=False)
    with pytest.raises(DatasetError, match="holds a domain_wall dataset, but a dispersion dataset"):
        open_dataset(path, kind="dispersion")
    with pytest.raises(DatasetError, match="attribute solver is 'spsll', expected 'psll'"):
        open_dataset(path, expect={"solver": "psll"})
    with h5py.File(path, "r+") as f:
        f.attrs["complete"] = False
    with pytest.raises(DatasetError, match="not marked complete"):
        open_dataset(path)
