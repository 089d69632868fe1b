"""Field terms: each term's field is minus the gradient of its energy (H = −∂E/∂m / (μ0 Ms a)), and
the integrators' fused effective field is the sum of the terms' fields."""

import dataclasses

import pytest
import torch

from spsll.physics.defects import vacancy_masks
from spsll.physics.llg import LLSystem
from spsll.physics.terms import ShapeAnisotropy, UniaxialAnisotropy, Zeeman, local_terms
from tests.physics.conftest import exchange

NM = 1e-9
N = 64


def random_state(B=2, seed=0):
    m = torch.randn(B, 3, N, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return m / m.norm(dim=1, keepdim=True)


def gradient_field(energy, m, material):
    """−∂E/∂m / (μ0 Ms a): the field a term's energy implies."""
    m = m.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(energy(m).sum(), m)
    return -grad / (material.mu0 * material.Ms * material.a)


@pytest.mark.parametrize("term", [UniaxialAnisotropy, ShapeAnisotropy, Zeeman])
def test_local_terms_field_is_minus_the_energy_gradient(fept, term):
    material = dataclasses.replace(fept, applied_field=(1e5, -2e5, 3e5))
    t = term.of(material)
    m = random_state()
    torch.testing.assert_close(t.field(m), gradient_field(t.energy, m, material), rtol=1e-12, atol=1e-6)


@pytest.mark.parametrize("name", ["psll", "spsll", "rtn_ensemble"])
def test_symmetric_exchange_field_is_minus_the_energy_gradient(fept, name):
    sigma, tau = [10 * NM, 20 * NM], [5 * NM, 2 * NM]
    mask = vacancy_masks(N, fept.a, sigma[:1], tau[:1], 2, seed=3) if name == "rtn_ensemble" else None
    ex = exchange(name, fept, N, sigma, tau, mask=mask)
    m = random_state() if mask is None else random_state() * mask[:, None, :]

    def energy(x):
        return ex.energy(x, fept.a, fept.mu0 * fept.Ms)

    torch.testing.assert_close(ex.field(m), gradient_field(energy, m, fept), rtol=1e-9, atol=1e-6 * fept.Ms)


def test_fused_field_and_energy_are_the_sums_over_the_terms(fept):
    material = dataclasses.replace(fept, applied_field=(0.0, 0.0, 2e5))
    system = LLSystem(material, exchange("spsll", material, N, [10 * NM] * 2, [5 * NM] * 2), alpha=0.1)
    assert [type(t) for t in system.terms] == [UniaxialAnisotropy, ShapeAnisotropy, Zeeman]
    assert system.z_coefficient == material.Hk - material.Ms == material.gap_field
    m = random_state()
    total = system.exchange.field(m) + sum(t.field(m) for t in system.terms)
    torch.testing.assert_close(system.field(m), total, rtol=1e-12, atol=1e-6)
    energies = system.exchange.energy(m, material.a, material.mu0 * material.Ms)
    energies = energies + sum(t.energy(m) for t in system.terms)
    torch.testing.assert_close(system.energy(m), energies, rtol=1e-12, atol=0)


def test_without_the_shape_term_the_gap_field_is_hk(fept):
    no_shape = dataclasses.replace(fept, shape_anisotropy=False)
    assert [type(t) for t in local_terms(no_shape)] == [UniaxialAnisotropy]
    assert LLSystem(no_shape, exchange("psll", no_shape, N), alpha=0.0).z_coefficient == fept.Hk
