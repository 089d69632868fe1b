"""The identifiability study's computation: whitened observations, their Jacobians, the Cramér–Rao
bounds on n × n grids over the datasets' boxes, and the observables along a constant-φ ray and a
constant-T hyperbola."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.domain_wall import WallSettings, relax_domain_walls
from spsll.physics.measure.linear_response import linear_dispersion
from spsll.physics.solvers import SolverConfig
from spsll.units import GHZ, NM, correlation_length, material_fraction

NOISE_HZ = 1e9  # refine.refine_dispersion: noise_thz = 1e-3 per refined peak
NOISE_MZ = 1e-3  # refine.refine_walls: noise_mz per cell of the profile
NOISE_WIDTH_M = 1e-3 * NM  # refine.refine_walls: noise_width_nm
FD_REL_STEP = 1e-2  # central differences: truncation O(h²) ~ 1e-4, far above the relaxation's ~1e-8 noise
PHI_LINE, T_LINE_M = 0.8, 3.0 * NM  # the constant-φ ray and constant-T hyperbola drawn (inside both boxes)
GOOD_FRACTION = 0.05  # "recoverable": CRB std below 5 % of the quantity's span over the box everywhere
PHI_TARGET = 0.005  # docs/physics.md#targets: inverse models' test MAE of φ
WALL_CHUNK = 500  # walls per batched relaxation (memory ~ 25 kB per wall and tensor)


@dataclass(frozen=True)
class Setup:
    """Material, solver, measurement settings and (σ, τ) boxes (m) of the two datasets."""

    material: Material
    solver: SolverConfig
    n_cells_dispersion: int
    walls: WallSettings
    box_dispersion: tuple[tuple[float, float], tuple[float, float]]  # (σ lo, hi), (τ lo, hi), m
    box_walls: tuple[tuple[float, float], tuple[float, float]]

    @classmethod
    def from_study(cls, cfg) -> Setup:
        """From the composed ``conf/studies/identifiability.yaml``: its material, solver (float64, on
        the CPU, not compiled: this many small relaxations do not repay a 10–30 s torch.compile) and
        the measurement settings and ranges of its two dataset groups."""
        from spsll.data.provenance import physics_of_request

        c = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
        solver = {**c["solver"], "compile": False}
        disp, wall = (physics_of_request({"material": c["material"], "solver": solver, "dataset": d}, device="cpu")
                      for d in (c["dispersion_dataset"], c["wall_dataset"]))

        def box(p):
            return tuple((lo * NM, hi * NM) for lo, hi in (p.sigma_range_nm, p.tau_range_nm))

        return cls(disp.material, replace(disp.solver, dtype="float64"), disp.measurement.n_cells, wall.settings,
                   box(disp), box(wall))

    @classmethod
    def from_conf(cls, overrides=()) -> Setup:
        """:meth:`from_study` of ``conf/studies/identifiability.yaml`` with command-line ``overrides``."""
        from spsll.studies.common import compose_study

        return cls.from_study(compose_study("identifiability", overrides))

    @property
    def k(self) -> torch.Tensor:
        """The dispersion dataset's k grid (rad/m), ascending −π/a … π/a − Δk."""
        return Grid(self.n_cells_dispersion, self.material.a).sorted_wavenumbers()


def phi_T(sigma, tau):
    """Material fraction φ = σ/(σ+τ) and defect density T = στ/(σ+τ) (same units as σ, τ)."""
    return material_fraction(sigma, tau), correlation_length(sigma, tau)


def tau_at_phi(sigma, phi):
    """τ on the constant-φ ray: τ = σ(1−φ)/φ."""
    return sigma * (1 - phi) / phi


def tau_at_T(sigma, T):
    """τ on the constant-T hyperbola: τ = Tσ/(σ−T) (needs σ > T)."""
    return T * sigma / (sigma - T)


# -- observations, whitened: observable / noise per element ------------------------------------
def dispersion_hz(setup: Setup, sigma_m, tau_m) -> torch.Tensor:
    """f(k) (Hz, (B, K)) of the solver on the dataset's k grid, differentiable in σ, τ (m)."""
    return linear_dispersion(setup.material, setup.k, sigma_m, tau_m, n_cells=setup.n_cells_dispersion,
                             solver=setup.solver.name)


def dispersion_jacobian(setup: Setup, sigma_m, tau_m) -> tuple[torch.Tensor, torch.Tensor]:
    """(f/noise (B, K), ∂(f/noise)/∂(σ, τ) (B, K, 2) in 1/m) by autograd: two JVPs, one per parameter
    (every sample depends on its own σ, τ only, so one tangent per column serves the whole batch)."""
    sigma_m, tau_m = (torch.as_tensor(v, dtype=torch.float64).reshape(-1) for v in (sigma_m, tau_m))

    def y(s, t):
        return dispersion_hz(setup, s, t) / NOISE_HZ

    ones, zeros = torch.ones_like(sigma_m), torch.zeros_like(sigma_m)
    value, d_sigma = torch.autograd.functional.jvp(y, (sigma_m, tau_m), (ones, zeros))
    _, d_tau = torch.autograd.functional.jvp(y, (sigma_m, tau_m), (zeros, ones))
    return value, torch.stack([d_sigma, d_tau], 2)


def relax_walls(setup: Setup, sigma_m, tau_m):
    """(m_z (B, N), cosine-series width (B,) m) of relaxed walls, batched in chunks."""
    sigma_m, tau_m = (torch.as_tensor(v, dtype=torch.float64).reshape(-1) for v in (sigma_m, tau_m))
    mz, width = [], []
    for lo in range(0, sigma_m.shape[0], WALL_CHUNK):
        r = relax_domain_walls(setup.material, sigma_m[lo : lo + WALL_CHUNK], tau_m[lo : lo + WALL_CHUNK],
                               solver=setup.solver, settings=setup.walls)
        if not bool(r.converged.all()):
            raise RuntimeError(f"{int((~r.converged).sum())} walls did not reach the torque tolerance")
        mz.append(r.mz)
        width.append(r.width)
    return torch.cat(mz), torch.cat(width)


def wall_observation(setup: Setup, sigma_m, tau_m) -> torch.Tensor:
    """[m_z/1e-3, w/1e-3 nm] (B, N + 1): the vector refine_walls fits, whitened."""
    mz, width = relax_walls(setup, sigma_m, tau_m)
    return torch.cat([mz / NOISE_MZ, (width / NOISE_WIDTH_M)[:, None]], 1)


def central_jacobian(observe, sigma_m, tau_m, rel_step: float = FD_REL_STEP) -> tuple[torch.Tensor, torch.Tensor]:
    """(y (B, M), ∂y/∂(σ, τ) (B, M, 2)) by central differences of relative size ``rel_step``; the 5 B
    evaluations (centre, σ ± h_σ, τ ± h_τ) go to ``observe(σ, τ)`` as one batch."""
    s, t = (torch.as_tensor(v, dtype=torch.float64).reshape(-1) for v in (sigma_m, tau_m))
    if bool((t <= 0).any()):
        raise ValueError("central differences need tau > 0 (the relative step of tau = 0 is zero)")
    hs, ht = rel_step * s, rel_step * t
    out = observe(torch.cat([s, s + hs, s - hs, s, s]), torch.cat([t, t, t, t + ht, t - ht]))
    y0, sp, sm, tp, tm = out.split(s.shape[0])
    return y0, torch.stack([(sp - sm) / (2 * hs[:, None]), (tp - tm) / (2 * ht[:, None])], 2)


# -- Cramér–Rao bound ------------------------------------------------------------------------------
def cramer_rao(jac: torch.Tensor, sigma_m, tau_m) -> dict[str, torch.Tensor]:
    """Lower-bound standard deviations (m for σ, τ, T; 1 for φ) from a whitened Jacobian (B, M, 2).

    cov = (JᵀJ)⁻¹ = V diag(1/s²) Vᵀ from the SVD J = U diag(s) Vᵀ (stable where JᵀJ is nearly
    singular); then var(g·θ) = Σ_i (g·v_i)²/s_i² for g = ∇φ and ∇T. Also returned: the worst-
    determined direction ``sloppy`` (B, 2), the ratio s_max/s_min of how much better the best
    combination is known than the worst, and ``std_phi_T_known``: the bound on φ were T known
    (1/|∂y/∂φ| at fixed T), so that std_phi / std_phi_T_known is what not knowing T costs.
    """
    s_m, t_m = (torch.as_tensor(v, dtype=torch.float64).reshape(-1) for v in (sigma_m, tau_m))
    _, sv, vh = torch.linalg.svd(jac, full_matrices=False)  # sv (B, 2) descending, vh rows = v_i
    v = vh.transpose(1, 2)  # columns v_i

    def std(g):  # g (B, 2)
        proj = (g[:, :, None] * v).sum(1)  # g·v_i, (B, 2)
        return (proj.pow(2) / sv.pow(2)).sum(1).sqrt()

    tot2 = (s_m + t_m) ** 2
    phi, T = phi_T(s_m, t_m)
    dy_dphi_at_T = jac @ torch.stack([T / (1 - phi) ** 2, -T / phi**2], 1)[:, :, None]  # σ = T/(1−φ), τ = T/φ
    e_sigma, e_tau = torch.tensor([1.0, 0.0]).expand(len(s_m), 2), torch.tensor([0.0, 1.0]).expand(len(s_m), 2)
    return {
        "std_sigma": std(e_sigma.to(jac)), "std_tau": std(e_tau.to(jac)),
        "std_phi": std(torch.stack([t_m / tot2, -s_m / tot2], 1)),
        "std_T": std(torch.stack([t_m**2 / tot2, s_m**2 / tot2], 1)),
        "std_phi_T_known": 1 / dy_dphi_at_T.squeeze(2).norm(dim=1),
        "sloppy": v[:, :, 1], "stiffness_ratio": sv[:, 0] / sv[:, 1],
    }


def angle_to_phi_contour_deg(direction: torch.Tensor, sigma_m, tau_m) -> torch.Tensor:
    """Angle (deg, 0–90) between a (σ, τ) direction and the constant-φ ray (σ, τ) through the point."""
    ray = torch.stack([torch.as_tensor(sigma_m), torch.as_tensor(tau_m)], 1).to(direction)
    cos = (direction * ray).sum(1).abs() / (direction.norm(dim=1) * ray.norm(dim=1))
    return torch.rad2deg(torch.arccos(cos.clamp(max=1.0)))


# -- maps and lines --------------------------------------------------------------------------------
@dataclass
class IdentifiabilityMap:
    """Cell-centred (σ, τ) grid (m, shape (n, n), index [i_τ, i_σ]) over a dataset's box."""

    kind: str  # "dispersion" or "walls"
    box: tuple  # ((σ lo, hi), (τ lo, hi)), m
    sigma: np.ndarray
    tau: np.ndarray
    summary: np.ndarray  # f(π/a) in Hz, or the wall width in m
    crb: dict[str, np.ndarray]  # std_sigma, std_tau, std_phi, std_T, std_phi_T_known, stiffness_ratio: (n, n);
    #                             sloppy (n, n, 2)
    angle_sloppy_deg: np.ndarray  # worst-determined direction vs the constant-φ ray
    angle_summary_deg: np.ndarray  # the contour of the summary alone (its gradient's normal) vs the ray
    seconds: float


def grid(box, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centred n × n grid over ((σ lo, hi), (τ lo, hi)); τ = 0 (σ unidentifiable) never on it."""
    (s_lo, s_hi), (t_lo, t_hi) = box
    s = s_lo + (np.arange(n) + 0.5) * (s_hi - s_lo) / n
    t = t_lo + (np.arange(n) + 0.5) * (t_hi - t_lo) / n
    return np.meshgrid(s, t)


def identifiability_map(setup: Setup, kind: str, n: int) -> IdentifiabilityMap:
    """The summary observable and its Cramér–Rao bounds on an n × n grid over the dataset's box."""
    t0 = time.perf_counter()
    if kind not in ("dispersion", "walls"):
        raise ValueError(f"kind must be 'dispersion' or 'walls', got {kind!r}")
    box = setup.box_dispersion if kind == "dispersion" else setup.box_walls
    sig, tau = grid(box, n)
    s, t = torch.from_numpy(sig.ravel()), torch.from_numpy(tau.ravel())
    if kind == "dispersion":
        y, jac = dispersion_jacobian(setup, s, t)
        i_zb = int(torch.argmax(setup.k.abs()))  # k = −π/a: the zone boundary
        summary, g_summary = y[:, i_zb] * NOISE_HZ, jac[:, i_zb]
    else:
        y, jac = central_jacobian(lambda a, b: wall_observation(setup, a, b), s, t)
        summary, g_summary = y[:, -1] * NOISE_WIDTH_M, jac[:, -1]
    crb = cramer_rao(jac, s, t)
    contour = torch.stack([g_summary[:, 1], -g_summary[:, 0]], 1)  # ⟂ gradient: the summary's level line
    shape = sig.shape
    out = {key: val.detach().numpy().reshape(*shape, *val.shape[1:]) for key, val in crb.items()}
    return IdentifiabilityMap(kind, box, sig, tau, summary.detach().numpy().reshape(shape), out,
                              angle_to_phi_contour_deg(crb["sloppy"], s, t).numpy().reshape(shape),
                              angle_to_phi_contour_deg(contour, s, t).numpy().reshape(shape),
                              time.perf_counter() - t0)


def line_sigmas(box, n: int) -> dict[str, np.ndarray]:
    """σ (m) of n points on the constant-φ ray and the constant-T hyperbola, geometric, inside the box."""
    (s_lo, s_hi), (_, t_hi) = box
    phi_hi = min(s_hi, t_hi * PHI_LINE / (1 - PHI_LINE))  # τ ≤ τ_hi on the ray
    T_lo = max(s_lo, T_LINE_M * t_hi / (t_hi - T_LINE_M))  # τ ≤ τ_hi on the hyperbola
    if not (s_lo < phi_hi and T_lo < s_hi):
        raise ValueError("the constant-φ / constant-T lines leave the dataset's (σ, τ) box")
    return {"phi": np.geomspace(s_lo, phi_hi, n), "T": np.geomspace(T_lo, s_hi, n)}


def line_taus(sigmas: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"phi": tau_at_phi(sigmas["phi"], PHI_LINE), "T": tau_at_T(sigmas["T"], T_LINE_M)}


@dataclass
class LineCurves:
    """The observables along the constant-φ ray and the constant-T hyperbola (keys "phi", "T")."""

    sigma_disp: dict  # n σ (m) per line in the dispersion box
    tau_disp: dict
    freq: dict  # f(k ≥ 0) (Hz, (n, K/2)) per line
    sigma_wall: dict  # n σ (m) per line in the wall box
    tau_wall: dict
    mz: np.ndarray  # (2n, N): the n walls along φ, then the n along T
    width: np.ndarray  # (2n + 2 × 16,) m: those walls, then 16 along φ and 16 along T
    dense_sigma: dict  # the 16 σ (m) per line


def line_curves(setup: Setup, n: int = 5) -> LineCurves:
    """Dispersions (closed form) and relaxed walls along both lines; all walls relaxed in one batch."""
    pos = setup.k >= 0
    sig = line_sigmas(setup.box_dispersion, n)
    taus = line_taus(sig)
    freq = {key: dispersion_hz(setup, torch.from_numpy(sig[key]), torch.from_numpy(taus[key]))[:, pos].detach()
            .numpy() for key in ("phi", "T")}
    sig_w = line_sigmas(setup.box_walls, n)
    taus_w = line_taus(sig_w)
    dense = line_sigmas(setup.box_walls, 16)
    dense_t = line_taus(dense)
    all_s = np.concatenate([sig_w["phi"], sig_w["T"], dense["phi"], dense["T"]])
    all_t = np.concatenate([taus_w["phi"], taus_w["T"], dense_t["phi"], dense_t["T"]])
    mz, width = relax_walls(setup, torch.from_numpy(all_s), torch.from_numpy(all_t))
    return LineCurves(sig, taus, freq, sig_w, taus_w, mz.numpy(), width.numpy(), dense)


def line_spreads(curves: LineCurves) -> dict[str, float]:
    """How far the observables move along each line: the dispersion (GHz, against the middle curve)
    over the n points, and the wall width (nm) over the 16; plus the median width along φ (nm)."""
    spreads = {}
    for key in ("phi", "T"):
        f = curves.freq[key]
        spreads[f"dispersion_{key}_ghz"] = float(np.abs(f - f[len(f) // 2]).max() / GHZ)
    n = len(curves.sigma_wall["phi"])
    for j, key in enumerate(("phi", "T")):
        w = curves.width[2 * n + 16 * j : 2 * n + 16 * (j + 1)]
        spreads[f"width_{key}_nm"] = float((w.max() - w.min()) / NM)
        if key == "phi":
            spreads["width_mid_nm"] = float(np.median(w) / NM)
    return spreads
