"""Summary figures written next to a generated dataset (the paper's Fig. 1 panels that apply)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from spsll.data.hdf5 import MASK_KINDS
from spsll.data.mask_figures import mask_figures
from spsll.data.reader import load
from spsll.figures import physics as plots
from spsll.physics.material import Material


def dataset_figures(path, material: Material, n_examples: int = 4) -> list[Path]:
    path = Path(path)
    out_dir = path.with_name(path.stem + "_figures")
    data = load(path)
    kind = data["attrs"]["kind"]
    idx = np.linspace(0, len(data["sigma_nm"]) - 1, min(n_examples, len(data["sigma_nm"]))).astype(int)
    label = [f"σ={data['sigma_nm'][i]:.1f} nm, τ={data['tau_nm'][i]:.1f} nm" for i in idx]
    if kind in MASK_KINDS:
        return mask_figures(data, out_dir, n_examples)
    if kind == "skyrmion":
        return skyrmion_figures(data, out_dir, n_examples)
    written = []
    if kind == "dispersion":
        import torch

        k = torch.as_tensor(data["k_rad_per_nm"]) * 1e9
        curves = {lab: torch.as_tensor(data["freq_refined_thz"][i]) * 1e12 for lab, i in zip(label, idx, strict=False)}
        written.append(plots.save(plots.plot_dispersion_curves(k, curves, material),
                                  out_dir / "dispersions.png"))
        if "spectrum" in data:
            from spsll.physics.measure.dispersion import DispersionResult

            for j, i in enumerate(idx[:2]):
                res = DispersionResult(k=k, freq=torch.as_tensor(data["freq_thz"][i : i + 1]) * 1e12,
                                       freq_refined=torch.as_tensor(data["freq_refined_thz"][i : i + 1]) * 1e12,
                                       f=torch.as_tensor(data["f_thz"]) * 1e12,
                                       spectrum=torch.as_tensor(data["spectrum"][i : i + 1]))
                written.append(plots.save(plots.plot_dispersion_spectrum(res, 0, material, title=label[j]),
                                          out_dir / f"spectrum_{i}.png"))
    else:
        import torch

        x = torch.as_tensor(data["x_nm"]) * 1e-9
        profiles = {lab: torch.as_tensor(data["mz"][i]) for lab, i in zip(label, idx, strict=False)}
        written.append(plots.save(plots.plot_wall_profiles(x, profiles), out_dir / "wall_profiles.png"))
        written.append(plots.save(width_scatter(data["sigma_nm"], data["tau_nm"], data["width_nm"]),
                                  out_dir / "width_over_sigma_tau.png"))
    return written


def width_scatter(sigma_nm, tau_nm, width_nm) -> Figure:
    """Width (nm) over scattered (σ, τ) samples: the dataset's view of the paper's Fig. 1f."""
    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot()
    sc = ax.scatter(sigma_nm, tau_nm, c=width_nm, s=6, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="wall width w (nm)")
    ax.set_xlabel("σ (nm)")
    ax.set_ylabel("τ (nm)")
    ax.set_title(f"{len(width_nm)} relaxed walls")
    fig.tight_layout()
    return fig


def skyrmion_figures(data: dict, out_dir: Path, n_examples: int = 4) -> list[Path]:
    """A few stored m_z crops with their labels, and survival over (τ, B) (docs/data.md#skyrmions)."""
    n = len(data["sigma_nm"])
    idx = np.linspace(0, n - 1, min(n_examples, n)).astype(int)
    x, y = data["x_nm"], data["y_nm"]
    fig = Figure(figsize=(2.4 * len(idx), 2.8), layout="constrained")
    for k, i in enumerate(idx):
        ax = fig.add_subplot(1, len(idx), k + 1)
        ax.imshow(data["mz"][i].T, origin="lower", cmap="RdBu_r", vmin=-1, vmax=1,
                  extent=(x[0] - 0.5 * (x[1] - x[0]), x[-1] + 0.5 * (x[1] - x[0]), y[0] - 0.5 * (y[1] - y[0]),
                          y[-1] + 0.5 * (y[1] - y[0])))
        fate = f"r = {data['radius_nm'][i]:.2f} nm" if data["survived"][i] else "collapsed"
        ax.set_title(f"σ={data['sigma_nm'][i]:.1f}, τ={data['tau_nm'][i]:.2f} nm\nB={data['B_T'][i]:.3f} T: {fate}",
                     fontsize=7)
        ax.set_xlabel("x (nm)", fontsize=7)
        ax.tick_params(labelsize=6)
    written = [plots.save(fig, out_dir / "skyrmions.png")]
    fig = Figure(figsize=(5.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    alive = data["survived"].astype(bool)
    ax.scatter(data["tau_nm"][~alive], data["B_T"][~alive], s=6, c="0.6", label="collapsed / undecided / grown")
    sc = ax.scatter(data["tau_nm"][alive], data["B_T"][alive], s=6, c=data["radius_nm"][alive], cmap="viridis",
                    label="survived")
    fig.colorbar(sc, ax=ax, label="radius (nm)")
    ax.set_xlabel("τ (nm)")
    ax.set_ylabel("B (T)")
    ax.set_title(f"{int(alive.sum())} of {n} skyrmions survived")
    ax.legend(fontsize=7)
    written.append(plots.save(fig, out_dir / "survival_over_tau_B.png"))
    return written
