"""Identifiability: what the dispersion and the wall tell about (σ, τ), and what they cannot.

    python -m spsll.studies.identifiability [out=docs/identifiability.md] [grid=20] [threads=1]

writes the report, its figures and ``identifiability.json`` (config: ``conf/studies/identifiability.yaml``).

Under the default solver ``spsll`` the defects enter the exchange only through the filter
F(k) = φ + √(S_cont(k) Δk) (docs/physics.md#readings) with φ = σ/(σ+τ) and the Lorentzian
S_cont ∝ φ(1−φ) T/(1+(kT)²), T = στ/(σ+τ). The large, k-independent part φ sets the dispersion's
amplitude (f(k) − f_gap ≈ φ X0 [1 − cos ka]) and the wall width (w ≈ w0 √φ,
docs/physics.md#identifiability); the defect density T enters only through the small √(S_cont Δk)
term. Constant-φ lines are rays τ = σ(1−φ)/φ through the origin, constant-T lines are the hyperbolas
τ = Tσ/(σ−T): moving along a ray barely changes an observable, moving along a hyperbola changes it a
lot. Quantitatively, with a whitened observation y(σ, τ) (observable / noise per element) and its
Jacobian J = ∂y/∂(σ, τ), the Fisher matrix is JᵀJ and the Cramér–Rao bound cov ≥ (JᵀJ)⁻¹ gives the
smallest standard deviation any unbiased estimator can reach for σ, τ and, by the delta method, for
φ and T; the singular vectors of J are the best- and worst-determined combinations.

Observations and noise (the scales :mod:`spsll.evaluation.refine` fits with): the refined peak
frequencies on the dataset's k grid with 1 GHz per k, computed in closed form by
:func:`~spsll.physics.measure.linear_response.linear_dispersion` (matches simulated peaks to ~1 GHz;
Jacobian by autograd), and the relaxed wall's m_z profile with 1e-3 per cell plus its (cosine-series)
width with 1e-3 nm, from :func:`~spsll.physics.measure.domain_wall.relax_domain_walls` (float64;
Jacobian by central differences, all shifted walls relaxed in one batch). Material, solver and
measurement settings and the (σ, τ) ranges come from the study's config groups (no dataset file
needed).

Modules: :mod:`.compute`, :mod:`.figures`, :mod:`.report` (``spsll/studies/templates/identifiability.md``
filled from ``identifiability.json``), :mod:`.study` (the Hydra entry point).
"""

from spsll.studies.identifiability.compute import (
    NOISE_HZ,
    PHI_LINE,
    T_LINE_M,
    IdentifiabilityMap,
    Setup,
    central_jacobian,
    cramer_rao,
    dispersion_hz,
    dispersion_jacobian,
    identifiability_map,
    line_sigmas,
    line_taus,
    phi_T,
    relax_walls,
)

__all__ = ["NOISE_HZ", "PHI_LINE", "T_LINE_M", "IdentifiabilityMap", "Setup", "central_jacobian", "cramer_rao",
           "dispersion_hz", "dispersion_jacobian", "identifiability_map", "line_sigmas", "line_taus", "phi_T",
           "relax_walls"]
