import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir

from spsll.data.cli import run_generate
from spsll.evaluation.cli import run_evaluate
from spsll.prediction.cli import run_predict
from tests.training.conftest import ROOT, runs, small_data, train  # noqa: F401  (shared tiny datasets)


def generate(path, *overrides, timeout=600):
    """A dataset through the real ``generate.py`` (no progress bar, no figures, one thread)."""
    out = subprocess.run([sys.executable, "generate.py", f"dataset.path={path}", "progress=false", "figures=false",
                          "threads=1", *overrides], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return path


def generate_here(path, *overrides):
    """The same through the composed config in this process (no interpreter start: seconds less)."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("generate", overrides=[f"dataset.path={path}", "progress=false", "figures=false",
                                             "threads=1", *overrides])
    return run_generate(cfg)


def evaluate_here(tmp, *overrides) -> dict:
    """``evaluate.py`` through its composed config, in this process, against the store under ``tmp``."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("evaluate", overrides=[f"logger.tracking_uri=sqlite:///{tmp / 'mlflow.db'}", "threads=1",
                                             *overrides])
    return run_evaluate(cfg)


def predict_here(tmp, *overrides) -> dict:
    """``python -m spsll.predict`` through its composed config, in this process."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("predict", overrides=[f"logger.tracking_uri=sqlite:///{tmp / 'mlflow.db'}", *overrides])
    return run_predict(cfg)


@pytest.fixture(scope="session")
def inverse_run(tmp_path_factory, small_data):  # noqa: F811
    """An inverse CNN (stated spread: the configured gaussian head) on the small dispersions, 2 epochs."""
    tmp = tmp_path_factory.mktemp("inverse_run")
    out = train(tmp, "model=inverse_cnn", "dataset=dispersion_small", f"dataset.path={small_data['dispersion']}",
                "data.batch_size=8", "trainer.max_epochs=2")
    assert out.returncode == 0, out.stderr[-2000:]
    _, rs = runs(tmp)
    return tmp, rs[0].info.run_id


@pytest.fixture(scope="session")
def wall_run(tmp_path_factory, small_data):  # noqa: F811
    """A width regressor on the small walls, 1 epoch."""
    tmp = tmp_path_factory.mktemp("wallrun")
    out = train(tmp, "model=width_regressor", "dataset=domain_wall_small", f"dataset.path={small_data['domain_wall']}",
                "data.batch_size=8")
    assert out.returncode == 0, out.stderr[-2000:]
    _, rs = runs(tmp)
    return tmp, rs[0].info.run_id


@pytest.fixture(scope="session")
def rtn_data(tmp_path_factory):
    """Dispersions of explicit vacancies (``solver=rtn_ensemble``), measured like ``dataset_small``'s
    (500 cells, 10 ps), at three points, all in no split but test ([0, 0, 1]): 2 realisations each,
    about 3 s."""
    path = tmp_path_factory.mktemp("rtn") / "dispersion_rtn.h5"
    return generate(path, "dataset=dispersion_small", "solver=rtn_ensemble", "solver.realisations=2",
                    "solver.compile=false", "dataset.sampling=explicit",
                    "dataset.points=[[20,3.75],[20,11.2],[35,7.5]]", "dataset.split=[0,0,1]")
