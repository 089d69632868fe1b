import pytest
import torch

from spsll.physics.material import Material

NM = 1e-9


@pytest.fixture(scope="session", autouse=True)
def _threads():
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def fept() -> Material:
    return Material.fept()
