"""Tiny synthetic data for the model tests (no solver: curves and walls are analytic)."""

import math

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

A_NM = 0.339
F_GAP = 0.2131
X0 = 5.2366


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    torch.set_num_threads(1)


class DictDataset(Dataset):
    def __init__(self, **tensors):
        self.t = tensors
        self.n = next(iter(tensors.values())).shape[0]

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {k: v[i] for k, v in self.t.items()}


def k_grid(n_k: int) -> torch.Tensor:
    """Ascending −π/a … π/a − Δk, the dataset's convention."""
    dk = 2 * math.pi / (n_k * A_NM)
    return -math.pi / A_NM + dk * torch.arange(n_k, dtype=torch.float64)


def sample_params(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    sigma = 5 + 25 * torch.rand(n, generator=g)
    tau = 1 + 14 * torch.rand(n, generator=g)
    return torch.stack([sigma, tau], 1)


def synthetic_dispersion(params: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """X0·φ(1 − cos ka) + f_gap with a weak φ-dependent low-pass correction (THz)."""
    phi = params[:, 0] / params.sum(1)
    ka = (k * A_NM).float()
    x = (X0 * phi).unsqueeze(1)
    return x * (1 - torch.cos(ka)) + F_GAP - 0.05 * (1 - phi).unsqueeze(1) * (1 - torch.cos(2 * ka))


def stats(params: torch.Tensor) -> dict:
    return {"params_mean": params.mean(0).tolist(), "params_std": params.std(0).tolist()}


@pytest.fixture
def dispersion_data():
    """(data_info, dataset) with K = 64 wavenumbers and 32 samples."""
    n_k = 64
    k = k_grid(n_k)
    params = sample_params(32)
    disp = synthetic_dispersion(params, k)
    ideal = X0 * (1 - torch.cos(k * A_NM)) + F_GAP
    info = {**stats(params), "k_rad_per_nm": k.tolist(), "dispersion_mean": float(disp.mean()),
            "dispersion_std": float(disp.std()), "lattice_constant_nm": A_NM, "f_gap_thz": F_GAP,
            "x_max_thz": X0, "ideal_dispersion_thz": ideal.tolist()}
    return info, DictDataset(dispersion=disp.float(), params=params.float())


@pytest.fixture
def wall_data():
    """(data_info, dataset) with N = 64 cells and 32 walls m_z = tanh((x − x0)/δ), w = πδ."""
    n = 64
    params = sample_params(32, seed=1)
    phi = params[:, 0] / params.sum(1)
    delta = 1.17 * phi.sqrt() + 0.005 * params[:, 1]  # nm, some τ dependence beyond φ
    x = (torch.arange(n) - n / 2 + 0.5) * A_NM
    mz = torch.tanh(x.unsqueeze(0) / delta.unsqueeze(1))
    width = math.pi * delta
    info = {**stats(params), "mz_length": n, "width_mean": float(width.mean()),
            "width_std": float(width.std())}
    return info, DictDataset(mz=mz.float(), width_nm=width.float(), params=params.float())


def loader(ds, batch_size=16, shuffle=False):
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle)
