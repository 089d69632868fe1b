"""Thin-film magnetostatics and the stray field above the film (docs/physics.md#magnetostatics,
#stray-field), against closed forms: the local shape term as the k → 0 limit, the thickness-averaged
spin-wave modes (Kalinikos & Slavin, J. Phys. C 19, 7013 (1986)), the Néel-wall charge energy of a
thin film, and the field of a uniformly magnetised stripe (two charged sheets)."""

import dataclasses
import math

import pytest
import torch

from spsll.physics.grid import Grid
from spsll.physics.material import Material
from spsll.physics.measure.stray_field import stray_field
from spsll.physics.solvers import SolverConfig, build_system
from spsll.physics.terms import ShapeAnisotropy, ThinFilmMagnetostatics, local_terms
from spsll.physics.terms.magnetostatics import thickness_factor

NM = 1e-9
PSLL = SolverConfig(name="psll", compile=False, device="cpu")
# an in-plane film: the thin-film shape anisotropy (Ms = 0.86 MA/m) beats Hk = 0.1 MA/m
IN_PLANE = Material(Ms=0.86e6, A=13e-12, Hk=0.1e6, a=1 * NM, thickness=2 * NM, magnetostatics="thin_film")


def random_state(shape, B=2, seed=0):
    m = torch.randn(B, 3, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return m / m.norm(dim=1, keepdim=True)


def gradient_field(energy, m, material):
    """−∂E/∂m / (μ0 Ms a^d): the field a term's energy implies."""
    m = m.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(energy(m).sum(), m)
    return -grad / (material.mu0 * material.Ms * material.a ** (m.ndim - 2))


def linear_frequencies(system, m0: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """The two small-amplitude eigenfrequencies (Hz) of the undamped LL equation linearised about the
    uniform state m0 (unit 3-vector) for each plane wave e^{i k x}, k = 2πj/(N a) along x of a chain.

    The field is affine in m, so L(δ) = H(δ) − H(0) is its linear part and L(ê e^{ikx}) = M(k) ê e^{ikx};
    dδ/dt = −γμ0 [δ × H0 + m0 × L δ] on the plane ⊥ m0 gives a 2×2 matrix per k whose eigenvalues are
    −iω: ω(k) > 0 for the wave e^{i(kx − ωt)} and −ω(−k) < 0 for the conjugate of the wave at −k.
    """
    n = system.exchange.shape[0]
    phase = 2 * math.pi * j[:, None] * torch.arange(n, dtype=torch.float64) / n
    e1 = torch.linalg.cross(m0, torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    e1 = e1 if e1.norm() > 0.5 else torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    e1 = e1 / e1.norm()
    basis = (e1, torch.linalg.cross(m0, e1))
    waves = torch.cat([e[None, :, None] * f(phase)[:, None] for e in basis for f in (torch.cos, torch.sin)])
    field = system.field(waves) - system.field(torch.zeros_like(waves))
    K = j.shape[0]
    resp = [field[2 * i * K:(2 * i + 1) * K, :, 0] + 1j * field[(2 * i + 1) * K:(2 * i + 2) * K, :, 0]
            for i in range(2)]
    h0 = system.field(m0.view(1, 3, 1).expand(1, 3, n).contiguous())[0, :, 0].to(torch.complex128)
    m0c, cols = m0.to(torch.complex128), []
    for e, r in zip(basis, resp, strict=True):
        ec = e.to(torch.complex128).expand(K, 3)
        rate = -system.material.gamma_mu0 * (torch.linalg.cross(ec, h0.expand(K, 3), dim=1)
                                             + torch.linalg.cross(m0c.expand(K, 3), r, dim=1))
        cols.append(torch.stack([rate @ b.to(torch.complex128) for b in basis], dim=-1))
    omega = 1j * torch.linalg.eigvals(torch.stack(cols, dim=-1))
    assert float(omega.imag.abs().max()) < 1e-9 * float(omega.real.abs().max())  # undamped, stable
    return omega.real.sort(dim=-1).values / (2 * math.pi)


def test_thickness_factor_limits():
    k = torch.tensor([0.0, 1e-3, 1e3, 1e12], dtype=torch.float64) / NM
    f = thickness_factor(k, 2 * NM)
    assert float(f[0]) == 1.0  # f(0) = 1 exactly: the local shape term
    assert float(f[1]) == pytest.approx(1 - 1e-3, rel=1e-6)  # f ≈ 1 − kt/2 at small kt
    assert float(f[3]) == pytest.approx(1 / (1e12 * 2), rel=1e-9)  # f → 1/(kt) at large kt


@pytest.mark.parametrize("shape", [(32,), (16, 12)])
def test_uniform_states_feel_the_local_shape_field_or_nothing(shape):
    term = ThinFilmMagnetostatics.of(IN_PLANE, Grid(shape, IN_PLANE.a))
    m = torch.zeros(3, 3, *shape, dtype=torch.float64)
    m[0, 2], m[1, 0], m[2, 1] = 1.0, 1.0, 1.0
    h = term.field(m)
    # k = 0 only: H = −Ms m_z ẑ (the local shape term) to round-off, and no field in-plane
    torch.testing.assert_close(h[0], ShapeAnisotropy.of(IN_PLANE).field(m[:1])[0], rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(h[1:], torch.zeros_like(h[1:]), rtol=0, atol=1e-9)


@pytest.mark.parametrize("shape", [(64,), (16, 12)])
def test_field_is_minus_the_energy_gradient(shape):
    term = ThinFilmMagnetostatics.of(IN_PLANE, Grid(shape, IN_PLANE.a))
    m = random_state(shape)
    # the kernel is real, symmetric and even in k: exact to FFT round-off
    torch.testing.assert_close(term.field(m), gradient_field(term.energy, m, IN_PLANE), rtol=1e-10,
                               atol=1e-8 * IN_PLANE.Ms)


def test_thin_film_replaces_the_local_shape_term():
    local = dataclasses.replace(IN_PLANE, magnetostatics="local", Hk=1e6)
    assert ShapeAnisotropy in {type(t) for t in local_terms(local)}
    assert ShapeAnisotropy not in {type(t) for t in local_terms(IN_PLANE)}
    system = build_system(PSLL, IN_PLANE, Grid(32, IN_PLANE.a), alpha=0.0)
    assert [type(t) for t in system.extra] == [ThinFilmMagnetostatics]
    assert system.material.gap_field == IN_PLANE.Hk - IN_PLANE.Ms  # the same uniform-mode gap as the local term


@pytest.mark.parametrize("direction", [(0.0, 1.0, 0.0), (1.0, 0.0, 0.0)])
def test_thickness_averaged_spin_waves(direction):
    """Kalinikos–Slavin lowest mode, thickness-averaged, in-plane magnetisation m0 in a field H ∥ m0:
    k ⊥ m0 (Damon–Eshbach): ω = γμ0 √((H + J + Ms(1 − f))(H + J + Ms f − Hk)); k ∥ m0 (backward
    volume): ω = γμ0 √((H + J)(H + J + Ms f − Hk)), J = (2A/μ0Ms) · 2(1 − cos ka)/a² the lattice
    exchange field. Exact on the lattice (no DMI), so the tolerance is round-off."""
    m0 = torch.tensor(direction, dtype=torch.float64)
    mat = dataclasses.replace(IN_PLANE, applied_field=tuple(0.3e6 * c for c in direction))
    n = 128
    system = build_system(PSLL, mat, Grid(n, mat.a), alpha=0.0)
    j = torch.arange(1, n // 2, dtype=torch.float64)
    k = 2 * math.pi * j / (n * mat.a)
    f = thickness_factor(k, mat.film_thickness)
    ex = 2 * mat.A / (mat.mu0 * mat.Ms) * 2 * (1 - torch.cos(k * mat.a)) / mat.a**2
    h = 0.3e6 + ex
    in_plane = h + (mat.Ms * (1 - f) if direction[1] else 0.0)  # the volume charge of δm ∥ k
    expected = mat.gamma_mu0 * torch.sqrt(in_plane * (h + mat.Ms * f - mat.Hk)) / (2 * math.pi)
    freqs = linear_frequencies(system, m0, j)
    torch.testing.assert_close(freqs[:, 1], expected, rtol=1e-9, atol=0)
    torch.testing.assert_close(freqs[:, 0], -expected, rtol=1e-9, atol=0)  # reciprocal without DMI


def test_neel_wall_costs_its_volume_charges():
    """A Néel wall (m in the xz plane, varying along x) carries the volume charge −Ms ∂x m_x, a Bloch
    wall (xz → yz) none; for t ≪ Δ the thin-film kernel (1 − f ≈ kt/2) gives
    σ_N − σ_B = μ0 Ms² t ln 2 / π per unit wall area, for the rigid profile m_x = sech(x/Δ). The next
    order is −(kt)²/6 against kt/2, a relative −O(t/Δ) = 1 % here, and the box's k sum misses the
    integral by −(π²Δ/L)²/(12 ln 2) = −0.45 % (Euler–Maclaurin at k = 0): measured −0.7 %, hence 2 %."""
    n, delta = 1024, 20 * NM
    mat = dataclasses.replace(IN_PLANE, thickness=0.2 * NM)
    term = ThinFilmMagnetostatics.of(mat, Grid(n, mat.a))
    x = (torch.arange(n, dtype=torch.float64) - n / 2 + 0.5) * mat.a
    theta = 2 * torch.atan(torch.exp(x / delta))
    zeros = torch.zeros_like(x)
    neel = torch.stack([torch.sin(theta), zeros, torch.cos(theta)])[None]
    bloch = torch.stack([zeros, torch.sin(theta), torch.cos(theta)])[None]
    diff = float(term.energy(neel) - term.energy(bloch))
    assert diff == pytest.approx(mat.mu0 * mat.Ms**2 * mat.film_thickness * math.log(2) / math.pi, rel=0.02)


def stripe_closed_form(x, z, w, t, Ms):
    """(H_z, ∂z H_z, H_x) at (x, z) of a stripe |x| < w/2, −t < z' < 0, m = ẑ, infinite along y: the
    sheets +Ms at z' = 0 and −Ms at z' = −t, each (σ/2π)[atan((x + w/2)/h) − atan((x − w/2)/h)] in H_z."""
    u, v = x + w / 2, x - w / 2
    hz = Ms / (2 * math.pi) * (torch.atan(u / z) - torch.atan(v / z)
                               - torch.atan(u / (z + t)) + torch.atan(v / (z + t)))

    def g(p, h):
        return -p / (p * p + h * h)

    dhz = Ms / (2 * math.pi) * (g(u, z) - g(v, z) - g(u, z + t) + g(v, z + t))

    def log(h):
        return torch.log((u * u + h * h) / (v * v + h * h))

    return hz, dhz, Ms / (4 * math.pi) * (log(z) - log(z + t))


@pytest.mark.parametrize("cell_shape, rtol", [(True, 1e-5), (False, 1.2e-2)])
def test_stray_field_of_a_stripe(cell_shape, rtol):
    """Stripe of 40 cells, t = 2 nm, at z = 5 nm on a 2048-cell periodic box. The periodic images are
    summed exactly (their field falls as a dipole's, 1/n², so ±2000 periods leave < 1e-6), so the
    error left is the discretisation: with the cell form factor only the aliases, O(e^{−πz/a}) =
    1.5e-7; band-limited cells cost O((a/z)²) = 4 % times the small form-factor coefficient
    (1 − sinc ≈ (ka)²/24): measured 0.27 % (H_z, H_x) and 0.86 % (∂z H_z), hence 1.2 %."""
    n, width, t, z, Ms = 2048, 40, 2 * NM, 5 * NM, 1e6
    a = 1 * NM
    m = torch.zeros(1, 3, n, dtype=torch.float64)
    m[0, 2, n // 2 - width // 2:n // 2 + width // 2] = 1.0
    sf = stray_field(m, Grid(n, a), Ms, t, z, cell_shape=cell_shape)
    x = (torch.arange(n, dtype=torch.float64) - n / 2 + 0.5) * a
    shifts = torch.arange(-2000, 2001, dtype=torch.float64)[:, None] * n * a
    refs = [r.sum(0) for r in stripe_closed_form(x + shifts, z, width * a, t, Ms)]
    for got, ref in zip((sf.hz[0], sf.dhz_dz[0], sf.h_inplane[0, 0]), refs, strict=True):
        assert float((got - ref).abs().max()) < rtol * float(ref.abs().max())
    assert float(sf.h_inplane[0, 1].abs().max()) == 0.0  # a chain is a film infinite along y


def test_stray_field_of_a_film_uniform_along_y_is_the_chains():
    chain = random_state((64,), B=1, seed=3)
    film = chain[..., None].expand(1, 3, 64, 8).contiguous()
    a, args = 1 * NM, (1e6, 2 * NM, 4 * NM)
    sc, sf = stray_field(chain, Grid(64, a), *args), stray_field(film, Grid((64, 8), a), *args)
    for c, f in ((sc.hz, sf.hz), (sc.dhz_dz, sf.dhz_dz), (sc.h_inplane, sf.h_inplane)):
        torch.testing.assert_close(f, c[..., None].expand_as(f), rtol=1e-10, atol=1e-6)
