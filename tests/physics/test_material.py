"""Derived material quantities against docs/physics.md#material and #ref-material (computed, never typed in)."""

import math

import pytest

from spsll.physics.material import Material


def test_derived_quantities_fept(fept):
    # docs/physics.md#material: λex ≈ 3.0 nm, K_U ≈ 3.61 MJ/m³, analytic Bloch width 3.73 nm; §1.3 gap 213 GHz.
    assert fept.lambda_ex * 1e9 == pytest.approx(3.0, abs=0.01)
    assert fept.K_U * 1e-6 == pytest.approx(3.61, abs=0.005)
    assert fept.bloch_width * 1e9 == pytest.approx(3.73, abs=0.005)
    assert fept.f_gap * 1e-9 == pytest.approx(213, abs=0.5)
    # docs/physics.md#ref-material: X = 5.234 ± 0.02 THz and f(π/a) = 10.69 THz for the ideal chain.
    assert fept.X0 * 1e-12 == pytest.approx(5.234, abs=0.02)
    assert float(fept.ideal_frequency(math.pi / fept.a)) * 1e-12 == pytest.approx(10.69, abs=0.005)


def test_shape_term_switch(fept):
    # Without the thin-film shape term the gap field is Hk and the wall is narrower (docs/physics.md#ref-walls).
    no_shape = Material(Ms=fept.Ms, A=fept.A, Hk=fept.Hk, a=fept.a, shape_anisotropy=False)
    assert no_shape.gap_field == fept.Hk
    assert no_shape.bloch_width < fept.bloch_width


@pytest.mark.parametrize("attr", ["Ms", "A", "Hk", "a", "gamma"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_constants_rejected(attr, value):
    kw = dict(Ms=950e3, A=5.1e-12, Hk=7e6, a=0.339e-9)
    kw[attr] = value
    with pytest.raises(ValueError, match=f"material.{attr}"):
        Material(**kw)


def test_in_plane_material_rejected():
    with pytest.raises(ValueError, match="Hk - Ms"):
        Material(Ms=950e3, A=5.1e-12, Hk=0.5e6, a=0.339e-9)


def test_config_missing_key():
    with pytest.raises(ValueError, match="missing"):
        Material.from_config({"Ms_A_per_m": 1e6})
