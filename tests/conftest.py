import pytest
import torch

from spsll.physics.material import Material

NM = 1e-9


@pytest.fixture(scope="session", autouse=True)
def _threads():
    # the tests run small problems: one thread avoids oversubscription when a subprocess
    # (the demo) or another job shares the 2 cores
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def fept() -> Material:
    return Material.fept()
