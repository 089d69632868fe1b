"""The model registry: train.py logs each model in MLflow's PyTorch flavour with a signature and registers
it under its task's name; ``mlflow.pyfunc.load_model`` serves it with physical inputs and outputs."""

import mlflow
import numpy as np
import pytest

from spsll.tracking.registry import NAMES, RegistryError, run_of_model_uri
from tests.training.conftest import runs, small_data, train  # noqa: F401  (shared tiny datasets)


@pytest.mark.slow
def test_trained_models_are_registered_and_served(tmp_path, small_data):  # noqa: F811
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = train(tmp_path, "model=inverse_cnn", "dataset=dispersion_small", f"dataset.path={small_data['dispersion']}",
                "model.channels=[4,4,4,4]", "model.dense=[8]")
    assert out.returncode == 0, out.stderr[-3000:]
    out = train(tmp_path, "model=ridge", "dataset=dispersion_small", f"dataset.path={small_data['dispersion']}",
                "hydra.run.dir=" + str(tmp_path / "ridge"))
    assert out.returncode == 0, out.stderr[-3000:]
    client, found = runs(tmp_path)
    by_model = {r.data.tags["model"]: r.info.run_id for r in found}
    name = NAMES[("inverse", "dispersion")]
    versions = {v.version: v.run_id for v in mlflow.MlflowClient(uri, registry_uri=uri).search_model_versions(
        f"name='{name}'")}
    assert sorted(versions.values()) == sorted([by_model["inverse_cnn"], by_model["ridge"]])
    assert run_of_model_uri(f"models:/{name}/1", uri) == by_model["inverse_cnn"]
    assert run_of_model_uri(f"models:/{name}/latest", uri) == by_model["ridge"]

    mlflow.set_tracking_uri(uri)
    served = mlflow.pyfunc.load_model(f"models:/{name}/1")
    inputs = served.metadata.get_input_schema().inputs
    k = inputs[0].shape[-1]
    x = np.full((3, k), 1.0, dtype=np.float32)
    y = served.predict(x)
    assert y.shape == (3, 4) and np.all(np.isfinite(y))
    sigma, tau, phi, t = y.T
    np.testing.assert_allclose(phi, sigma / (sigma + tau), rtol=1e-4)  # [σ, τ, φ, T] consistent
    np.testing.assert_allclose(t, sigma * tau / (sigma + tau), rtol=1e-4)


def test_model_uris_are_checked(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(RegistryError, match="models:/<name>/<version>"):
        run_of_model_uri("runs:/abc/model", uri)
    with pytest.raises(RegistryError, match="spsll_inverse_dispersion"):
        run_of_model_uri("models:/nope/1", uri)
