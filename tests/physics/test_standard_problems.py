"""The μMAG DMI standard problem and the isolated skyrmion, through geometry masks and the relaxer
(docs/physics.md#dmi, #geometry): Cortés-Ortuño et al., New J. Phys. 20, 113015 (2018), and the
radial Euler–Lagrange equation solved with scipy here.

Material: A = 13 pJ/m, D = −3 mJ/m² (our sign convention), Ms = 0.86 MA/m, Ku = 0.4 MJ/m³, no
magnetostatics (conf/material/dmi_standard.yaml).
"""

import dataclasses

import numpy as np
import pytest
import torch
from scipy.integrate import solve_bvp

from spsll.data.provenance import load_material
from spsll.physics.geometry import geometry_mask
from spsll.physics.grid import Grid
from spsll.physics.measure.relaxed_texture import relax_texture
from spsll.physics.solvers import SolverConfig
from tests.data.conftest import ROOT

NM = 1e-9
PSLL = SolverConfig(name="psll", compile=False)


@pytest.fixture(scope="module")
def standard():
    return load_material(ROOT / "conf" / "material" / "dmi_standard.yaml")


def euler_lagrange_radius(material, *, disk_radius=None, box=30.0, r0=4.0) -> float:
    """Radius (m) where θ = π/2 of the radial skyrmion profile:
    A(θ'' + θ'/r − sinθcosθ/r²) + |D| sin²θ/r − K_eff sinθcosθ = 0, θ(0) = π, and θ(∞) = 0 (film) or
    the free-edge condition θ'(R) = −|D|/(2A) (disk of radius R). Lengths in units of Δ = √(A/K_eff)."""
    delta = np.sqrt(material.A / material.K_U)
    d = abs(material.D) / np.sqrt(material.A * material.K_U)
    end = box if disk_radius is None else disk_radius / delta

    def rhs(p, y):
        s, c = np.sin(y[0]), np.cos(y[0])
        return np.vstack([y[1], -y[1] / p + s * c / p**2 - d * s**2 / p + s * c])

    def bc(ya, yb):
        return np.array([ya[0] - np.pi, yb[0] if disk_radius is None else yb[1] + d / 2])

    p = np.geomspace(1e-3, end, 2000)  # r → 0 is singular; θ(10⁻³ Δ) = π moves the radius by < 1e-6
    guess = 2 * np.arctan(np.exp((r0 - p) / 0.7))
    sol = solve_bvp(rhs, bc, p, np.vstack([guess, np.gradient(guess, p)]), tol=1e-8, max_nodes=1_000_000)
    assert sol.status == 0 and sol.rms_residuals.max() < 1e-7, sol.message
    fine = np.linspace(1e-3, end, 2_000_001)
    theta = sol.sol(fine)[0]
    i = int(np.argmax(theta < np.pi / 2))
    return (fine[i - 1] + (np.pi / 2 - theta[i - 1]) * (fine[i] - fine[i - 1]) / (theta[i] - theta[i - 1])) * delta


def test_wire_edge_canting(standard):
    # 100 nm wire of 1 nm cells with open ends: the continuum gives m_x = ±0.6148, m_z = 0.7887 at the
    # end cells' centres (±49.5 nm); the lattice must be within 0.005 of it
    grid = Grid(104, 1 * NM)
    wire = geometry_mask("wire", grid, length=100 * NM)
    res = relax_texture(standard, grid, "uniform", solver=PSLL, geometry=wire, torque_tol=1e-9, max_iter=200_000)
    edge = res.m_edge[0]
    assert bool(res.converged[0])
    assert abs(abs(float(edge[0, 0])) - 0.6148) < 0.005 and abs(abs(float(edge[1, 0])) - 0.6148) < 0.005
    assert abs(float(edge[0, 2]) - 0.7887) < 0.005 and abs(float(edge[1, 2]) - 0.7887) < 0.005
    assert float(edge[0, 0]) * float(edge[1, 0]) < 0  # the ends cant oppositely (chirality)


def test_disk_skyrmion_radius(standard):
    # 100 nm disk, 2 nm cells: the radial equation with the free-edge condition gives 22.03 nm; the
    # lattice result within 1 %, and converged in the torque tolerance
    reference = euler_lagrange_radius(standard, disk_radius=50 * NM, r0=2.0)
    assert reference == pytest.approx(22.03 * NM, rel=1e-3)
    material = dataclasses.replace(standard, a=2 * NM)
    grid = Grid((52, 52), 2 * NM)
    disk = geometry_mask("disk", grid, diameter=100 * NM)
    radii = []
    for tol in (1e-6, 1e-8):
        res = relax_texture(material, grid, "skyrmion", solver=PSLL, geometry=disk, radius=20 * NM,
                            torque_tol=tol, max_iter=100_000)
        assert bool(res.converged[0]) and bool(res.survived[0])
        radii.append(float(res.radius[0]))
    assert radii[0] == pytest.approx(reference, rel=0.01)
    assert radii[1] == pytest.approx(radii[0], rel=1e-4)


def test_isolated_skyrmion_in_a_periodic_film(standard):
    # |D| = 2.5 mJ/m² < D_c = 2.90 mJ/m²: a metastable isolated skyrmion; box 128 nm ≥ 10 radii,
    # radius ≥ 5 cells: the lattice radius within 1 % of the radial equation's
    material = dataclasses.replace(standard, D=-2.5e-3)
    assert abs(material.D) < material.critical_dmi
    reference = euler_lagrange_radius(material)
    grid = Grid((128, 128), 1 * NM)
    res = relax_texture(material, grid, "skyrmion", solver=PSLL, radius=10 * NM, torque_tol=1e-6, max_iter=100_000)
    assert bool(res.converged[0]) and bool(res.survived[0])
    assert float(res.topological_charge[0]) == pytest.approx(-1.0, abs=1e-6)
    assert 10 * float(res.radius[0]) <= 128 * NM and float(res.radius[0]) >= 5 * NM
    assert float(res.radius[0]) == pytest.approx(reference, rel=0.01)


def test_wire_converges_with_the_cell_size(standard):
    # halving the cell brings the end moment closer to the continuum's end value (m_x(±50 nm) = 0.6578)
    errors = []
    for a in (2.0, 1.0, 0.5):
        material = dataclasses.replace(standard, a=a * NM)
        grid = Grid(int(100 / a) + 4, a * NM)
        wire = geometry_mask("wire", grid, length=100 * NM)
        res = relax_texture(material, grid, "uniform", solver=PSLL, geometry=wire, torque_tol=1e-8,
                            max_iter=200_000)
        # the end cell's centre is at 50 − a/2 nm; compare with the continuum there through the slope
        errors.append(abs(abs(float(res.m_edge[0, 0, 0])) - 0.6578))
    assert errors[0] > errors[1] > errors[2]
    assert torch.isfinite(torch.tensor(errors)).all()
