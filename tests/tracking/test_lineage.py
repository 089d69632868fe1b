"""The data file a run trained on: recorded by train.py (tags, param, MLflow input, dataset.json) and
checked before evaluation, so that a regenerated or replaced file is refused with both digests."""

import json
import logging
import shutil

import pytest

from spsll.data.generation import generate
from spsll.data.hdf5 import data_digest, file_hash
from spsll.tracking.runs import (
    DatasetDigest,
    RunError,
    check_dataset_digest,
    local_dataset_digest,
    run_dataset_digest,
    write_dataset_record,
)
from tests.data.conftest import make_request
from tests.training.conftest import runs, train

WALLS = {"n_samples": 12, "chunk_size": 12,
         "measurement": {"n_cells": 128, "n_harmonics": 200, "n_error_harmonics": 40}}
# train.py overrides that ask for the file `walls` makes (the request check refuses any other)
TRAIN_MATCHING_WALLS = ["dataset.n_samples=12", "dataset.chunk_size=12", "dataset.measurement.n_cells=128",
                        "dataset.measurement.n_harmonics=200", "dataset.measurement.n_error_harmonics=40"]


def walls(path, seed=0, **kw):
    return generate(make_request("domain_wall", path, seed=seed, **{**WALLS, **kw}), progress=False, overwrite=True)


def recorded(path) -> DatasetDigest:
    return DatasetDigest(file_hash(path), data_digest(path))


def test_the_same_file_passes_another_seed_is_refused_with_both_digests(tmp_path):
    path = walls(tmp_path / "w.h5")
    before = recorded(path)
    check_dataset_digest(before, path)
    check_dataset_digest(before.sha256, path)  # a plain SHA-256 string
    walls(path, seed=1)
    after = file_hash(path)
    with pytest.raises(RunError) as err:
        check_dataset_digest(before, path)
    msg = str(err.value)
    assert f"SHA-256 {after[:12]}, the run's {before.sha256[:12]}" in msg and str(path) in msg
    assert "regenerated or replaced" in msg and "regenerate it with the run's own config" in msg
    assert "or evaluate another run" in msg


def test_regenerated_with_the_same_settings_passes_on_its_data_digest(tmp_path):
    """A regenerated file has other bytes (it stores when it was made) but the same request and arrays."""
    path = walls(tmp_path / "w.h5")
    before = recorded(path)
    path.unlink()
    walls(path)
    assert file_hash(path) != before.sha256 and data_digest(path) == before.data_sha256
    check_dataset_digest(before, path)
    with pytest.raises(RunError, match="recorded only the digest of the file's bytes.*put back the file"):
        check_dataset_digest(before.sha256, path)  # an older run: only the bytes to compare


def test_data_digest_sees_arrays_and_request_not_bookkeeping(tmp_path):
    import h5py

    path = walls(tmp_path / "w.h5")
    base = data_digest(path)
    copy = tmp_path / "c.h5"
    shutil.copy(path, copy)
    with h5py.File(copy, "r+") as f:
        del f["chunk_done"]  # how the file was written (a merged file has none)
        f.attrs["created"] = "another day"
    assert data_digest(copy) == base
    with h5py.File(copy, "r+") as f:
        f["width_nm"][0] = f["width_nm"][0] + 1e-12
    assert data_digest(copy) != base


def test_missing_file_and_no_recorded_digest(tmp_path, caplog):
    with pytest.raises(RunError, match=r"no data file at .*missing.h5 \(the run trained on the file with SHA-256 abc"):
        check_dataset_digest("abc" * 20, tmp_path / "missing.h5")
    with caplog.at_level(logging.WARNING):
        check_dataset_digest(None, tmp_path / "missing.h5")
    assert "recorded no digest of its data file" in caplog.text


def test_local_record(tmp_path):
    out = tmp_path / "out"
    ckpt = out / "checkpoints" / "best.ckpt"
    assert local_dataset_digest(ckpt) is None  # an output from before the record
    write_dataset_record(out, "/data/w.h5", DatasetDigest("a" * 64, "b" * 64))
    assert local_dataset_digest(ckpt) == DatasetDigest("a" * 64, "b" * 64)
    assert json.loads((out / "dataset.json").read_text())["path"] == "/data/w.h5"
    (out / "dataset.json").write_text("{not json")
    with pytest.raises(RunError, match="dataset.json is unreadable"):
        local_dataset_digest(ckpt)


def test_train_records_the_file_and_a_regenerated_file_is_refused(tmp_path):
    """train.py records the file; regenerating it with another seed at the same path after training makes
    both the MLflow run's and the local output's check refuse it."""
    path = walls(tmp_path / "walls.h5")
    out = train(tmp_path, "model=width_regressor", "dataset=domain_wall_small", f"dataset.path={path}",
                *TRAIN_MATCHING_WALLS, "data.batch_size=4")
    assert out.returncode == 0, out.stderr[-3000:]
    client, rs = runs(tmp_path)
    run = client.get_run(rs[0].info.run_id)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    want = recorded(path)
    assert run_dataset_digest(run.info.run_id, uri) == want
    assert run.data.params["dataset.sha256"] == want.sha256  # kept next to the tags
    (ds_input,) = run.inputs.dataset_inputs
    assert ds_input.dataset.digest == want.sha256[:32] and ds_input.dataset.name == "walls.h5"
    assert json.loads(ds_input.dataset.source)["uri"] == str(path)
    assert {t.key: t.value for t in ds_input.tags} == {"mlflow.data.context": "training", "kind": "domain_wall",
                                                       "sha256": want.sha256, "data_sha256": want.data_sha256}
    ckpt = next((tmp_path / "run" / "checkpoints").glob("best-*.ckpt"))
    assert local_dataset_digest(ckpt) == want
    check_dataset_digest(run_dataset_digest(run.info.run_id, uri), path)
    check_dataset_digest(local_dataset_digest(ckpt), path)

    walls(path, seed=1)
    now = file_hash(path)
    for expected in (run_dataset_digest(run.info.run_id, uri), local_dataset_digest(ckpt)):
        with pytest.raises(RunError, match=f"SHA-256 {now[:12]}, the run's {want.sha256[:12]}"):
            check_dataset_digest(expected, path)


def test_run_without_a_digest(tmp_path):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'old.db'}"
    client = mlflow.MlflowClient(uri)
    run = client.create_run(client.create_experiment("old"))
    assert run_dataset_digest(run.info.run_id, uri) is None
    client.log_param(run.info.run_id, "dataset.sha256", "c" * 64)  # a run from before the tags: the param
    assert run_dataset_digest(run.info.run_id, uri) == DatasetDigest("c" * 64)
    with pytest.raises(RunError, match="no MLflow run 'nope'"):
        run_dataset_digest("nope", uri)
