"""``python -m spsll.studies.coercivity_map``: the coercive field over (σ, τ) and the design answer.

From the hysteresis dataset (``dataset=hysteresis``: RTN soft defects in a chain, docs/hysteresis.md)
a Gaussian process (:mod:`spsll.models.gp`) maps (σ, τ) → H_c/H_K on the converged train and
validation samples. Its noise term is the chain-to-chain spread of H_c at fixed (σ, τ): one chain of
the dataset's length is one draw of the population, so the map states the expected H_c of such a
chain and the probability P(H_c ≥ x) = Φ((μ − x)/s) with the predictive std s (Gaussian, the
spread taken as the same everywhere). The test split, never used in the fit, checks the map: the
mean's MAE against the simulated H_c and the coverage of its 68 % and 95 % intervals, per τ range.

The design answer — "H_c ≥ x·H_K needs τ ≤ … at σ = …" — reads the map along τ at fixed σ: the
largest τ up to which the expected H_c (``typical``) or P(H_c ≥ x) ≥ ``confidence`` (``reliable``)
holds from the smallest τ of the range on. H_c of a chain is a weakest-link property (its softest
region reverses first), so the answer holds for the dataset's chain length and falls with a longer
one; the report says so. Writes ``<out>`` (markdown), and beside it ``<stem>/map.json`` and
``<stem>/map.png``.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import hydra
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from omegaconf import DictConfig
from scipy.special import ndtr

from spsll.models.gp import GaussianProcess
from spsll.studies.common import CONF, command_line, read_json, set_threads, write_json

MODULE = "spsll.studies.coercivity_map"
SPLITS = {"train": 0, "val": 1, "test": 2}


def load_samples(path: str | Path) -> dict[str, np.ndarray]:
    """σ, τ (nm), H_c/H_K and split of the converged samples with a finite H_c; the chain's length."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no hysteresis dataset at {path}: run python generate.py dataset=hysteresis")
    with h5py.File(path, "r") as f:
        if f.attrs.get("kind") != "hysteresis":
            raise ValueError(f"{path} is a {f.attrs.get('kind')!r} dataset, not hysteresis")
        if not f.attrs.get("complete", False):
            raise ValueError(f"{path} is not complete (an interrupted generation): rerun its generate.py command")
        d = {k: f[k][:] for k in ("sigma_nm", "tau_nm", "coercivity_HK", "split")}
        ok = f["converged"][:].astype(bool) & np.isfinite(d["coercivity_HK"])
        d = {k: v[ok] for k, v in d.items()}
        d["chain_nm"] = float(int(f.attrs["n_cells"]) * float(f.attrs["cell_nm"]))
        d["n_excluded"] = int((~ok).sum())
    return d


def _first_failure(tau: np.ndarray, ok: np.ndarray) -> float | None:
    """The largest τ up to which ``ok`` holds from the first τ on; None if it fails at the first."""
    if not ok[0]:
        return None
    bad = np.flatnonzero(~ok)
    return float(tau[-1] if len(bad) == 0 else tau[bad[0] - 1])


def compute_map(cfg: DictConfig) -> dict:
    d = load_samples(cfg.data)
    fit = d["split"] != SPLITS["test"]
    x = np.stack([d["sigma_nm"], d["tau_nm"]], 1)
    gp = GaussianProcess(seed=int(cfg.seed)).fit(x[fit], d["coercivity_HK"][fit])
    test = ~fit
    mean, std = (a[:, 0] for a in gp.predict(x[test]))
    err = mean - d["coercivity_HK"][test]
    checks = []
    tau_t = d["tau_nm"][test]
    edges = [float(tau_t.min()), *(float(q) for q in np.quantile(tau_t, [1 / 3, 2 / 3])), float(tau_t.max())]
    for j, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        k = (tau_t >= lo) & ((tau_t < hi) if j < len(edges) - 2 else (tau_t <= hi))
        checks.append({"tau_nm": [lo, hi], "n": int(k.sum()), "mae_HK": float(np.abs(err[k]).mean()),
                       "coverage_68": float((np.abs(err[k]) <= std[k]).mean()),
                       "coverage_95": float((np.abs(err[k]) <= 1.96 * std[k]).mean())})
    h_test = d["coercivity_HK"][test]
    base_rate = {x: float((d["coercivity_HK"][fit] >= x).mean()) for x in cfg.targets_HK}
    probabilities = [{"target_HK": float(x), "brier": float(((ndtr((mean - x) / std) - (h_test >= x)) ** 2).mean()),
                      "brier_base_rate": float(((base_rate[x] - (h_test >= x)) ** 2).mean()),
                      "observed_fraction": float((h_test >= x).mean())} for x in cfg.targets_HK]
    sig_axis = np.linspace(float(d["sigma_nm"].min()), float(d["sigma_nm"].max()), int(cfg.grid))
    tau_axis = np.linspace(float(d["tau_nm"].min()), float(d["tau_nm"].max()), int(cfg.grid))
    ss, tt = np.meshgrid(sig_axis, tau_axis, indexing="ij")
    gm, gs = (a[:, 0].reshape(ss.shape) for a in gp.predict(np.stack([ss.ravel(), tt.ravel()], 1)))
    return {"dataset": str(cfg.data), "chain_nm": d["chain_nm"], "n_fit": int(fit.sum()), "n_test": int(test.sum()),
            "n_excluded": d["n_excluded"], "noise_std_HK": float(gp.noise_std[0]),
            "length_scales_nm": gp.length_scales[0].tolist(),
            "test": {"mae_HK": float(np.abs(err).mean()), "coverage_68": float((np.abs(err) <= std).mean()),
                     "coverage_95": float((np.abs(err) <= 1.96 * std).mean()), "by_tau": checks,
                     "probabilities": probabilities},
            "sigma_nm": sig_axis.tolist(), "tau_nm": tau_axis.tolist(), "mean_HK": gm.tolist(), "std_HK": gs.tolist(),
            "targets_HK": [float(t) for t in cfg.targets_HK], "confidence": float(cfg.confidence),
            "answer_sigma_nm": [float(s) for s in cfg.answer_sigma_nm]}


def design_answer(target_HK: float, sigma_nm: float, result: dict) -> dict:
    """τ_max (nm) for H_c ≥ target·H_K at σ: ``typical`` (expected H_c) and ``reliable`` (P ≥ confidence)."""
    sig = np.asarray(result["sigma_nm"])
    if not sig[0] <= sigma_nm <= sig[-1]:
        raise ValueError(f"sigma_nm = {sigma_nm} lies outside the map's range [{sig[0]:.3g}, {sig[-1]:.3g}] nm")
    tau, mean, std = (np.asarray(result[k]) for k in ("tau_nm", "mean_HK", "std_HK"))
    i = min(int(np.searchsorted(sig, sigma_nm, side="right")) - 1, len(sig) - 2)
    w = (sigma_nm - sig[i]) / (sig[i + 1] - sig[i])           # linear between the map's σ rows
    m, s = (1 - w) * mean[i] + w * mean[i + 1], (1 - w) * std[i] + w * std[i + 1]
    prob = ndtr((m - target_HK) / s)
    out = {"target_HK": target_HK, "sigma_nm": float(sigma_nm),
           "typical_tau_max_nm": _first_failure(tau, m >= target_HK),
           "reliable_tau_max_nm": _first_failure(tau, prob >= result["confidence"])}
    out["sentence"] = sentence(out, result)
    return out


def sentence(ans: dict, result: dict) -> str:
    def part(v):
        if v is None:
            return f"is not reached even at the smallest τ ({result['tau_nm'][0]:.2f} nm)"
        if v >= result["tau_nm"][-1]:
            return f"holds over the whole range (τ ≤ {v:.2f} nm)"
        return f"needs τ ≤ {v:.2f} nm"
    return (f"H_c ≥ {ans['target_HK']:g} H_K at σ = {ans['sigma_nm']:.1f} nm: on average "
            f"{part(ans['typical_tau_max_nm'])}; with probability ≥ {result['confidence']:g} per "
            f"{result['chain_nm']:.1f} nm chain {part(ans['reliable_tau_max_nm'])}")


def map_figure(result: dict) -> Figure:
    sig, tau = np.asarray(result["sigma_nm"]), np.asarray(result["tau_nm"])
    mean, std = np.asarray(result["mean_HK"]), np.asarray(result["std_HK"])
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    im = ax.pcolormesh(sig, tau, mean.T, shading="auto", cmap="viridis", vmin=0, vmax=1)
    cs = ax.contour(sig, tau, mean.T, levels=result["targets_HK"], colors="w", linewidths=1)
    ax.clabel(cs, fmt="%.2g", fontsize=8)
    fig.colorbar(im, ax=ax, label="expected H_c / H_K")
    ax.set_title("expected coercive field (GP mean)", fontsize=10)
    handles = []
    for t, color in zip(result["targets_HK"], ("C0", "C1", "C2", "C3", "C4", "C5"), strict=False):
        bx.contour(sig, tau, ndtr((mean - t) / std).T, levels=[result["confidence"]], colors=color, linewidths=1.2)
        handles.append(Line2D([], [], color=color, label=f"H_c ≥ {t:g} H_K"))
    bx.legend(handles=handles, fontsize=7)
    bx.set_title(f"where P(H_c ≥ x) ≥ {result['confidence']:g} (below each line)", fontsize=10)
    for a in (ax, bx):
        a.set_xlabel("σ (nm): mean hard run")
        a.set_ylabel("τ (nm): mean soft run")
    return fig


def _fmt(v: float | None) -> str:
    return "not reached" if v is None else f"{v:.2f}"


def write_report(result: dict, out: str | Path, command: str) -> Path:
    out = Path(out)
    figs = out.parent / out.stem
    figs.mkdir(parents=True, exist_ok=True)
    write_json(figs / "map.json", result)
    map_figure(result).savefig(figs / "map.png", dpi=120)
    t = result["test"]
    lines = [
        "# Coercive field over (σ, τ): the map and the design answer", "",
        f"Generated by `{command}` from `{result['dataset']}` ({result['n_fit']} converged train + validation "
        f"chains fit the map, {result['n_test']} test chains check it; {result['n_excluded']} unconverged excluded). "
        f"Chains of {result['chain_nm']:.1f} nm with RTN soft defects (κ = 0), docs/hysteresis.md.", "",
        "H_c of one chain is one draw of its population: the map's noise term, "
        f"{result['noise_std_HK']:.3f} H_K, is the chain-to-chain spread at fixed (σ, τ). H_c is a weakest-link "
        "property (the softest region reverses first), so longer chains have lower H_c: the numbers hold for "
        "this length. The statistical readings say H_c = H_K everywhere (docs/hysteresis.md#statistical-model).", "",
        f"![map]({figs.name}/map.png)", "",
        "## Check on the test split", "",
        f"Mean absolute error of the expected H_c against the simulated one: {t['mae_HK']:.3f} H_K; "
        f"68 % intervals cover {100 * t['coverage_68']:.0f} %, 95 % intervals {100 * t['coverage_95']:.0f} %.", "",
        "| τ range (nm) | chains | MAE (H_K) | 68 % coverage | 95 % coverage |", "|---|---|---|---|---|",
        *(f"| {c['tau_nm'][0]:.2f}–{c['tau_nm'][1]:.2f} | {c['n']} | {c['mae_HK']:.3f} | "
          f"{100 * c['coverage_68']:.0f} % | {100 * c['coverage_95']:.0f} % |" for c in t["by_tau"]), "",
        "The probabilities P(H_c ≥ x) assume a Gaussian spread of the same width everywhere; their Brier score "
        "on the test chains against the train split's base rate (lower is better):", "",
        "| x | observed fraction | Brier, map | Brier, base rate |", "|---|---|---|---|",
        *(f"| {p['target_HK']:g} | {p['observed_fraction']:.2f} | {p['brier']:.3f} | {p['brier_base_rate']:.3f} |"
          for p in t["probabilities"]), "",
        "## Design answer", "",
        f"The largest τ up to which H_c ≥ x H_K holds, on average and with probability ≥ {result['confidence']:g} "
        "(from the smallest τ of the range on; `spsll.studies.coercivity_map.design_answer`):", "",
        "| x = H_c/H_K | σ (nm) | τ_max on average (nm) | τ_max, P ≥ " f"{result['confidence']:g} (nm) |",
        "|---|---|---|---|",
    ]
    for x in result["targets_HK"]:
        for s in result["answer_sigma_nm"]:
            a = design_answer(x, s, result)
            lines.append(f"| {x:g} | {a['sigma_nm']:.1f} | {_fmt(a['typical_tau_max_nm'])} | "
                         f"{_fmt(a['reliable_tau_max_nm'])} |")
    lines += ["", "In words: " + design_answer(result["targets_HK"][len(result["targets_HK"]) // 2],
                                              result["answer_sigma_nm"][0], result)["sentence"] + ".", ""]
    out.write_text("\n".join(lines))
    return out


def run_study(cfg: DictConfig, command: str | None = None) -> Path:
    set_threads(cfg.get("threads"))
    if not 0.5 <= float(cfg.confidence) < 1:
        raise ValueError(f"confidence must lie in [0.5, 1), got {cfg.confidence}")
    result = compute_map(cfg)
    path = write_report(result, cfg.out, command or command_line(MODULE))
    print(f"wrote {path}; test MAE {result['test']['mae_HK']:.3f} H_K, 95 % coverage "
          f"{100 * result['test']['coverage_95']:.0f} %")
    return path


def load_map(path: str | Path) -> dict:
    return read_json(path)


@hydra.main(version_base="1.3", config_path=str(CONF), config_name="studies/coercivity_map")
def main(cfg: DictConfig) -> None:
    run_study(cfg)


if __name__ == "__main__":
    main()
