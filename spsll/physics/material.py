"""Material constants and the quantities derived from them (docs/physics.md#material).

Everything here is SI. The YAML in ``conf/material/`` names units at the edge
(``lattice_constant_nm``); derived quantities are computed, never typed in:

* exchange length      λex = sqrt(2A / (μ0 Ms²))
* anisotropy field     Hk = 2 Ku / (μ0 Ms)           (a file gives either Hk or Ku)
* gap field            H_gap = Hk − Ms               (Hk without the film's shape anisotropy)
* effective anisotropy K_U = μ0 Ms H_gap / 2 = Ku − μ0 Ms²/2 (K_eff)
* gap frequency        f_gap = γ μ0 H_gap / 2π
* ideal amplitude      X0 = γ μ0 Ms · 2 (λex/a)² / 2π, so f(k) = X0 [1 − cos ka] + f_gap (Eq. 6)
* Bloch wall width     π sqrt(A / K_U)  (continuum; the a-lattice wall is narrower, docs/physics.md#reference)
* critical DMI         D_c = 4 sqrt(A K_U) / π       (docs/physics.md#dmi)

``magnetostatics`` says how the film's demagnetising field enters: ``local`` (the local shape term
−Ms m_z ẑ when ``shape_anisotropy``), ``thin_film`` (the thickness-averaged kernel of
docs/physics.md#magnetostatics, whose k → 0 limit is that shape term) or ``none``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from spsll.physics.checks import require_scalar_positive

MU0 = 4e-7 * math.pi  # vacuum permeability (T m / A), the pre-2019 exact value
MAGNETOSTATICS = ("local", "thin_film", "none")

# the keys of conf/material/*.yaml: the unit is part of the name; exactly one of Hk and Ku
CONFIG_KEYS = ("name", "Ms_A_per_m", "A_J_per_m", "Hk_A_per_m", "Ku_J_per_m3", "lattice_constant_nm",
               "gamma_rad_per_s_per_T", "shape_anisotropy", "magnetostatics", "thickness_nm", "D_J_per_m2",
               "applied_field_A_per_m")


@dataclass(frozen=True)
class Material:
    """A ferromagnetic chain or film: primary constants in SI, derived ones as properties."""

    Ms: float  # A/m
    A: float  # J/m
    Hk: float  # A/m
    a: float  # m, lattice constant = cell size
    gamma: float = 1.76086e11  # rad s^-1 T^-1
    shape_anisotropy: bool = True  # the film's shape anisotropy (local term or thin-film kernel)
    applied_field: tuple[float, float, float] = (0.0, 0.0, 0.0)  # A/m
    name: str = "material"
    D: float = 0.0  # J/m², interfacial DMI (docs/physics.md#dmi)
    thickness: float | None = None  # m, film thickness t for thin-film magnetostatics (None: one cell)
    magnetostatics: str = "local"  # local | thin_film | none
    mu0: float = field(default=MU0, repr=False)

    def __post_init__(self):
        for attr in ("Ms", "A", "Hk", "a", "gamma"):
            require_scalar_positive(f"material.{attr}", getattr(self, attr))
        if len(self.applied_field) != 3 or not all(math.isfinite(h) for h in self.applied_field):
            raise ValueError("material.applied_field must be three finite numbers (A/m)")
        if not math.isfinite(self.D):
            raise ValueError(f"material.D must be a finite number (J/m²), got {self.D}")
        if self.thickness is not None:
            require_scalar_positive("material.thickness", self.thickness)
        self._check_magnetostatics()
        if self.magnetostatics == "local" and self.gap_field <= 0:
            raise ValueError(
                f"material: the gap field H_gap = Hk - Ms = {self.gap_field:.4g} A/m must be > 0 "
                "(Hk > Ms): the chain must have a perpendicular easy axis for the SPS-LL "
                "dispersion and wall set-ups; set shape_anisotropy=false or raise Hk "
                "(in-plane films: magnetostatics=thin_film)"
            )

    def _check_magnetostatics(self) -> None:
        if self.magnetostatics not in MAGNETOSTATICS:
            raise ValueError(f"material.magnetostatics must be one of {MAGNETOSTATICS}, got {self.magnetostatics!r}")
        if self.magnetostatics == "none" and self.shape_anisotropy:
            raise ValueError("material: magnetostatics=none contradicts shape_anisotropy=true (the shape "
                             "anisotropy is magnetostatic); set shape_anisotropy=false")
        if self.magnetostatics == "thin_film" and not self.shape_anisotropy:
            raise ValueError("material: magnetostatics=thin_film contradicts shape_anisotropy=false (the "
                             "thin-film kernel holds the shape anisotropy as its k -> 0 limit); use "
                             "magnetostatics=none for no magnetostatics")

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg) -> Material:
        """Build from a mapping with the unit-suffixed keys of ``conf/material/*.yaml`` (:data:`CONFIG_KEYS`).

        Exactly one of ``Hk_A_per_m`` and ``Ku_J_per_m3`` (Hk = 2 Ku / (μ0 Ms)); ``shape_anisotropy``
        defaults to ``magnetostatics != none``; unknown keys are refused.
        """
        keys = list(cfg.keys()) if hasattr(cfg, "keys") else list(vars(cfg))
        unknown = [k for k in keys if k not in CONFIG_KEYS]
        if unknown:
            raise ValueError(f"material config has unknown keys {unknown}; allowed keys are {list(CONFIG_KEYS)}")
        get = cfg.get if hasattr(cfg, "get") else lambda k, d=None: getattr(cfg, k, d)
        missing = [k for k in ("Ms_A_per_m", "A_J_per_m", "lattice_constant_nm") if get(k) is None]
        if (get("Hk_A_per_m") is None) == (get("Ku_J_per_m3") is None):
            if get("Hk_A_per_m") is not None:
                raise ValueError("material config gives both Hk_A_per_m and Ku_J_per_m3: give exactly one "
                                 "(Hk = 2 Ku / (mu0 Ms) is derived)")
            missing.append("Hk_A_per_m or Ku_J_per_m3")
        if missing:
            raise ValueError(f"material config is missing {missing}")
        Ms = float(get("Ms_A_per_m"))
        hk = get("Hk_A_per_m")
        magnetostatics = str(get("magnetostatics", "local"))
        thickness = get("thickness_nm")
        return cls(
            Ms=Ms,
            A=float(get("A_J_per_m")),
            Hk=float(hk) if hk is not None else cls.anisotropy_field(float(get("Ku_J_per_m3")), Ms),
            a=float(get("lattice_constant_nm")) * 1e-9,
            gamma=float(get("gamma_rad_per_s_per_T", 1.76086e11)),
            shape_anisotropy=bool(get("shape_anisotropy", magnetostatics != "none")),
            applied_field=tuple(float(h) for h in get("applied_field_A_per_m", (0.0, 0.0, 0.0))),
            name=str(get("name", "material")),
            D=float(get("D_J_per_m2", 0.0)),
            thickness=None if thickness is None else float(thickness) * 1e-9,
            magnetostatics=magnetostatics,
        )

    @staticmethod
    def anisotropy_field(Ku: float, Ms: float, mu0: float = MU0) -> float:
        """Hk = 2 Ku / (μ0 Ms) (A/m) of a uniaxial anisotropy constant Ku (J/m³)."""
        return 2 * require_scalar_positive("material.Ku", Ku) / (mu0 * require_scalar_positive("material.Ms", Ms))

    @classmethod
    def fept(cls) -> Material:
        """The default material, read from the packaged ``conf/material/fept.yaml`` values."""
        return cls(Ms=950e3, A=5.1e-12, Hk=7e6, a=0.339 * 1e-9, name="FePt-L10")

    def require_perpendicular(self, what: str) -> None:
        """Refuse a material without a perpendicular easy axis (H_gap ≤ 0) for a set-up that needs one."""
        if self.gap_field <= 0:
            raise ValueError(f"{what} needs a perpendicular easy axis: H_gap = Hk - Ms = {self.gap_field:.4g} A/m "
                             f"must be > 0 for material {self.name!r}")

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
        """H_gap = Hk − Ms with the shape anisotropy (local term or thin-film kernel), Hk without (A/m)."""
        return self.Hk - (self.Ms if self.shape_anisotropy else 0.0)

    @property
    def K_U(self) -> float:
        """Effective uniaxial anisotropy μ0 Ms H_gap / 2 (J/m³)."""
        return self.mu0 * self.Ms * self.gap_field / 2

    @property
    def Ku(self) -> float:
        """Uniaxial anisotropy constant μ0 Ms Hk / 2 (J/m³), without the shape anisotropy."""
        return self.mu0 * self.Ms * self.Hk / 2

    @property
    def film_thickness(self) -> float:
        """Film thickness t of the thin-film magnetostatics (m): ``thickness``, or one cell."""
        return self.a if self.thickness is None else self.thickness

    @property
    def local_shape_term(self) -> bool:
        """Whether the local shape term −Ms m_z ẑ is a field term (magnetostatics=local with the shape anisotropy)."""
        return self.magnetostatics == "local" and self.shape_anisotropy

    @property
    def critical_dmi(self) -> float:
        """D_c = 4 sqrt(A K_U) / π (J/m²): below it a straight wall costs positive energy (docs/physics.md#dmi)."""
        return 4 * math.sqrt(self.A * self.K_U) / math.pi

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
            **({"bloch_width_nm": self.bloch_width * 1e9} if self.K_U > 0 else {}),
        }
