"""GPU options exist and compose; the training/tracking code names no device.

No GPU here: the float32/bf16 paths run on CPU in test_sweeps (submitit_local, 32-true and
bf16-mixed), the GPU configs are checked as composed, and the code is checked for hard-wired CPUs.
"""

import re

import pytest
from hydra import compose, initialize_config_dir

from tests.scaling.conftest import ROOT


@pytest.mark.parametrize("name, expected", [
    ("cpu", {"accelerator": "cpu", "devices": 1, "precision": "32-true", "use_distributed_sampler": False}),
    ("gpu", {"accelerator": "gpu", "devices": 1, "precision": "32-true"}),
    ("gpu_bf16", {"accelerator": "gpu", "devices": 1, "precision": "bf16-mixed"}),
    ("ddp", {"accelerator": "cpu", "devices": 2, "strategy": "ddp", "use_distributed_sampler": False}),
    ("ddp_gpu", {"accelerator": "gpu", "devices": -1, "strategy": "ddp", "use_distributed_sampler": False}),
])
def test_trainer_configs(name, expected):
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[f"trainer={name}"])
    for key, value in expected.items():
        assert cfg.trainer[key] == value, (name, key)


def test_launcher_and_callback_configs():
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["hydra/launcher=slurm"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher") and cfg.hydra.launcher.max_num_timeout > 0
    assert cfg.hydra.callbacks.tracking_store._target_ == "spsll.tracking.hydra_callbacks.PrepareTrackingStore"


HARD_WIRED = re.compile(r"""(device\s*=\s*["']cpu|torch\.device\(\s*["']cpu|\.to\(\s*["']cpu|"""
                        r"""accelerator\s*=\s*["']cpu|\.cuda\(\)|["']cuda:0["'])""")


def test_training_code_names_no_device():
    src = ROOT / "spsll"
    files = [*(src / "training").glob("*.py"), src / "data" / "datamodule.py",
             *(src / "tracking").glob("*.py")]
    hits = [f"{f.name}:{i}: {line.strip()}" for f in files for i, line in enumerate(f.read_text().splitlines(), 1)
            if HARD_WIRED.search(line)]
    assert not hits, hits
