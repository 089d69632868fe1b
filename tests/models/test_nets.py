import math

import pytest
import torch

from spsll.models.nets import (
    InverseCNN,
    TFCConstrainedExpression,
    TFCDispersionNet,
    WidthRegressorNet,
)
from spsll.models.tfc_pinn import physics_residuals
from tests.models.conftest import A_NM, F_GAP, X0, k_grid


def expression(basis, n_corr=5):
    return TFCConstrainedExpression(A_NM, F_GAP, X0, basis=basis, n_corr=n_corr, c_scale_thz=0.1)


def random_coeffs(expr, b=6, seed=0, dtype=torch.float64):
    z = torch.randn(b, expr.n_raw, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 3
    return expr.coefficients(z)


def test_inverse_cnn_paper_architecture_shape():
    net = InverseCNN()  # the paper's defaults, K = 500
    convs = [m for m in net.features.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs] == [
        (1, 64, 5), (64, 128, 5), (128, 256, 3), (256, 128, 3)]
    linears = [m for m in net.head.modules() if isinstance(m, torch.nn.Linear)]
    assert [lin.out_features for lin in linears] == [512, 256, 64, 2]
    assert linears[0].in_features == 128 * (500 // 8)
    assert net(torch.randn(3, 500)).shape == (3, 2)
    with pytest.raises(ValueError, match="length"):
        net(torch.randn(3, 499))


def test_width_regressor_net_shape():
    net = WidthRegressorNet(in_length=100)
    assert net(torch.randn(5, 100), torch.randn(5)).shape == (5, 2)
    assert net(torch.randn(5, 1, 100), torch.randn(5, 1)).shape == (5, 2)


def test_tfc_net_shape():
    k = k_grid(40).float()
    net = TFCDispersionNet(k, torch.randn(2, 40), 3, expression("poly"), channels=(8, 8), kernel_sizes=(3, 3))
    omega, X, c = net(torch.randn(4, 3))
    assert omega.shape == (4, 40) and X.shape == (4,) and c.shape == (4, 5)


@pytest.mark.parametrize("basis", ["poly", "harmonic"])
def test_tfc_coefficients_bounded_by_construction(basis):
    expr = expression(basis)
    z = torch.tensor([[-1e4] * 6, [1e4] * 6, [0.0] * 6, [50.0, -50, 50, -50, 50, -50]], dtype=torch.float64)
    X, c = expr.coefficients(z)
    assert torch.all((X >= 0) & (X <= X0))
    assert X[0] == 0 and X[1] == pytest.approx(X0) and X[2] == pytest.approx(X0 / 2)
    assert torch.all(c.abs() <= 0.1)
    assert c[1].min() == pytest.approx(0.1)


@pytest.mark.parametrize("basis", ["poly", "harmonic"])
def test_tfc_gap_at_zero_exact(basis):
    expr = expression(basis, n_corr=5)
    X, c = random_coeffs(expr, dtype=torch.float32)
    omega0 = expr(torch.zeros(1), X, c)
    assert torch.equal(omega0, torch.full_like(omega0, F_GAP))


def test_harmonic_basis_even_and_flat_at_boundary_poly_not():
    k = k_grid(200)
    kb = torch.tensor([-math.pi / A_NM, math.pi / A_NM], dtype=torch.float64)
    results = {}
    for basis in ("harmonic", "poly"):
        expr = expression(basis)
        X, c = random_coeffs(expr, seed=3)
        asym = (expr(k, X, c) - expr(-k, X, c)).abs().max()
        kk = kb.expand(X.shape[0], -1).clone().requires_grad_(True)
        (slope,) = torch.autograd.grad(expr(kk, X, c).sum(), kk)
        results[basis] = (asym, slope.abs().max())
    assert results["harmonic"][0] < 1e-12
    assert results["harmonic"][1] < 1e-12
    assert results["poly"][0] > 1e-3  # odd powers k̃³, k̃⁵ break the symmetry
    assert results["poly"][1] > 1e-3


def test_corrections_change_shape_within_bound():
    expr = expression("poly")
    X = torch.full((1,), 3.0, dtype=torch.float64)
    c = torch.full((1, 5), 0.1, dtype=torch.float64)
    k = k_grid(100)
    diff = expr(k, X, c) - expr.ideal_part(k, X)
    assert 0 < diff.abs().max() <= 0.5 + 1e-12  # Σ|c_n| with |k̃| ≤ 1


# -- physics residuals on handmade curves -------------------------------------------------------

def handmade(perturb=None, quartic=0.0):
    """X(1 − cos ka) + f_gap [+ quartic·(1 − cos ka)², still even and flat at ±π/a] [+ perturb(k̃)]."""
    X = torch.tensor([2.0, 4.0], dtype=torch.float64)

    def omega(k):
        u = 1 - torch.cos(k * A_NM)
        out = X.unsqueeze(-1) * u + F_GAP + quartic * u**2
        return out if perturb is None else out + perturb(k * A_NM / math.pi)

    return omega, X


def residuals(omega, X, create_graph=False):
    return physics_residuals(omega, X, A_NM, F_GAP, k_grid(64), (0.02, 0.05, 0.1), create_graph=create_graph)


def test_residuals_zero_for_exact_curve():
    res = residuals(*handmade())
    assert set(res) == {"symmetry", "boundary", "small_k"}
    assert res["symmetry"] < 1e-24 and res["boundary"] < 1e-20 and res["small_k"] < 1e-20
    # an O(k⁴) even, flat correction: symmetry and boundary stay exactly satisfied
    res = residuals(*handmade(quartic=0.3))
    assert res["symmetry"] < 1e-24 and res["boundary"] < 1e-20 and res["small_k"] < 3e-3


@pytest.mark.parametrize("name, perturb", [
    ("symmetry", lambda kt: 0.05 * kt**3),
    ("boundary", lambda kt: 0.05 * kt**2),
    ("small_k", lambda kt: 0.05 * kt**2),
])
def test_residuals_positive_for_perturbed_curve(name, perturb):
    exact = residuals(*handmade())[name]
    pert = residuals(*handmade(perturb))[name]
    assert pert > 1e-4 and pert > 100 * exact


def test_residuals_differentiable_with_create_graph():
    expr = expression("poly")
    z = torch.zeros(3, expr.n_raw, dtype=torch.float64, requires_grad=True)
    X, c = expr.coefficients(z)
    res = residuals(lambda k: expr(k, X, c), X, create_graph=True)
    total = sum(res.values())
    (g,) = torch.autograd.grad(total, z)
    assert torch.isfinite(g).all() and g[:, 1:].abs().sum() > 0
