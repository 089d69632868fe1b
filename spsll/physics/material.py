"""Material constants and the quantities derived from them (docs/physics.md#material).

Everything here is SI. The YAML in ``conf/material/`` names units at the edge
(``lattice_constant_nm``); derived quantities are computed, never typed in:

* exchange length      λex = sqrt(2A / (μ0 Ms²))
* effective anisotropy K_U = μ0 Ms (Hk − Ms) / 2   (Hk alone without the shape term)
* gap field            H_gap = Hk − Ms             (local field H_l = H_gap m_z ẑ)
* gap frequency        f_gap = γ μ0 H_gap / 2π
* ideal amplitude      X0 = γ μ0 Ms · 2 (λex/a)² / 2π, so f(k) = X0 [1 − cos ka] + f_gap (Eq. 6)
* Bloch wall width     π sqrt(A / K_U)  (continuum; the a-lattice wall is narrower, docs/physics.md#reference)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from spsll.physics.checks import require_scalar_positive

MU0 = 4e-7 * math.pi  # vacuum permeability (T m / A), the pre-2019 exact value


@dataclass(frozen=True)
class Material:
    """A ferromagnetic chain: primary constants in SI, derived ones as properties."""

    Ms: float  # A/m
    A: float  # J/m
    Hk: float  # A/m
    a: float  # m, lattice constant = cell size
    gamma: float = 1.76086e11  # rad s^-1 T^-1
    shape_anisotropy: bool = True
    applied_field: tuple[float, float, float] = (0.0, 0.0, 0.0)  # A/m
    name: str = "material"
    mu0: float = field(default=MU0, repr=False)

    def __post_init__(self):
        for attr in ("Ms", "A", "Hk", "a", "gamma"):
            require_scalar_positive(f"material.{attr}", getattr(self, attr))
        if len(self.applied_field) != 3 or not all(math.isfinite(h) for h in self.applied_field):
            raise ValueError("material.applied_field must be three finite numbers (A/m)")
        if self.gap_field <= 0:
            raise ValueError(
                f"material: the gap field H_gap = Hk - Ms = {self.gap_field:.4g} A/m must be > 0 "
                "(Hk > Ms): the chain must have a perpendicular easy axis for the SPS-LL "
                "dispersion and wall set-ups; set shape_anisotropy=false or raise Hk"
            )

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg) -> Material:
        """Build from a mapping with the unit-suffixed keys of ``conf/material/*.yaml``."""
        get = cfg.get if hasattr(cfg, "get") else lambda k, d=None: getattr(cfg, k, d)
        required = ("Ms_A_per_m", "A_J_per_m", "Hk_A_per_m", "lattice_constant_nm")
        missing = [k for k in required if get(k) is None]
        if missing:
            raise ValueError(f"material config is missing {missing}")
        return cls(
            Ms=float(get("Ms_A_per_m")),
            A=float(get("A_J_per_m")),
            Hk=float(get("Hk_A_per_m")),
            a=float(get("lattice_constant_nm")) * 1e-9,
            gamma=float(get("gamma_rad_per_s_per_T", 1.76086e11)),
            shape_anisotropy=bool(get("shape_anisotropy", True)),
            applied_field=tuple(float(h) for h in get("applied_field_A_per_m", (0.0, 0.0, 0.0))),
            name=str(get("name", "material")),
        )

    @classmethod
    def fept(cls) -> Material:
        """The default material, read from the packaged ``conf/material/fept.yaml`` values."""
        return cls(Ms=950e3, A=5.1e-12, Hk=7e6, a=0.339 * 1e-9, name="FePt-L10")

    # -- derived quantities ---------------------------------------------------------------------
    @property
    def gamma_mu0(self) -> float:
        """γ μ0 in rad s^-1 (A/m)^-1: the precession rate per unit field."""
        return self.gamma * self.mu0

    @property
    def lambda_ex(self) -> float:
        """Exchange length sqrt(2A / (μ0 Ms²)) in m."""
        return math.sqrt(2 * self.A / (self.mu0 * self.Ms**2))

    @property
    def gap_field(self) -> float:
        """H_gap = Hk − Ms with the shape term, Hk without (A/m)."""
        return self.Hk - (self.Ms if self.shape_anisotropy else 0.0)

    @property
    def K_U(self) -> float:
        """Effective uniaxial anisotropy μ0 Ms H_gap / 2 (J/m³)."""
        return self.mu0 * self.Ms * self.gap_field / 2

    @property
    def f_gap(self) -> float:
        """Ferromagnetic-resonance gap γ μ0 H_gap / 2π (Hz)."""
        return self.gamma_mu0 * self.gap_field / (2 * math.pi)

    @property
    def exchange_prefactor(self) -> float:
        """2 (λex/a)², the amplitude of the dimensionless ω(k) of Eq. 6."""
        return 2 * (self.lambda_ex / self.a) ** 2

    @property
    def X0(self) -> float:
        """Ideal dispersion amplitude γμ0 Ms 2(λex/a)² / 2π (Hz): the TFC bound X_max."""
        return self.gamma_mu0 * self.Ms * self.exchange_prefactor / (2 * math.pi)

    @property
    def bloch_width(self) -> float:
        """Continuum Bloch-wall width π sqrt(A/K_U) (m)."""
        return math.pi * math.sqrt(self.A / self.K_U)

    def ideal_frequency(self, k):
        """Analytic PS-LL dispersion f(k) = X0 [1 − cos ka] + f_gap (Hz) for k in rad/m."""
        k = torch.as_tensor(k, dtype=torch.float64)
        return self.X0 * (1 - torch.cos(k * self.a)) + self.f_gap

    def summary(self) -> dict[str, float]:
        """Derived quantities in edge units, for logs and reports."""
        return {
            "lambda_ex_nm": self.lambda_ex * 1e9,
            "K_U_MJ_per_m3": self.K_U * 1e-6,
            "f_gap_thz": self.f_gap * 1e-12,
            "X0_thz": self.X0 * 1e-12,
            "bloch_width_nm": self.bloch_width * 1e9,
        }
