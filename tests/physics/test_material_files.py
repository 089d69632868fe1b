"""The material files and their keys (docs/physics.md#material): unknown keys are refused, Ku and Hk
are alternatives (Hk = 2Ku/(μ0 Ms)), magnetostatics and the shape anisotropy must agree, and the
packaged materials load with the derived numbers their comments state."""

import dataclasses
import math
from pathlib import Path

import pytest
import yaml

from spsll.physics.material import CONFIG_KEYS, MU0, Material

ROOT = Path(__file__).resolve().parents[2]
BASE = {"Ms_A_per_m": 1.1e6, "A_J_per_m": 16e-12, "lattice_constant_nm": 1.0}


def load(name):
    return Material.from_config(yaml.safe_load((ROOT / "conf" / "material" / f"{name}.yaml").read_text()))


def test_unknown_key_is_refused_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown keys \\['Hk'\\].*allowed keys.*Ku_J_per_m3"):
        Material.from_config({**BASE, "Hk": 1e6})


def test_ku_and_hk_are_alternatives():
    by_ku = Material.from_config({**BASE, "Ku_J_per_m3": 1.25e6})
    assert by_ku.Hk == pytest.approx(2 * 1.25e6 / (MU0 * 1.1e6), rel=1e-15)
    assert by_ku.Ku == pytest.approx(1.25e6, rel=1e-15)  # and back
    by_hk = Material.from_config({**BASE, "Hk_A_per_m": by_ku.Hk})
    assert by_hk == by_ku
    with pytest.raises(ValueError, match="both Hk_A_per_m and Ku_J_per_m3"):
        Material.from_config({**BASE, "Ku_J_per_m3": 1.25e6, "Hk_A_per_m": 1e6})
    with pytest.raises(ValueError, match="missing.*Hk_A_per_m or Ku_J_per_m3"):
        Material.from_config(BASE)


def test_magnetostatics_and_shape_anisotropy_must_agree():
    with pytest.raises(ValueError, match="magnetostatics=none contradicts shape_anisotropy=true"):
        Material.from_config({**BASE, "Ku_J_per_m3": 1.25e6, "magnetostatics": "none", "shape_anisotropy": True})
    with pytest.raises(ValueError, match="magnetostatics=thin_film contradicts shape_anisotropy=false"):
        Material.from_config({**BASE, "Ku_J_per_m3": 1.25e6, "magnetostatics": "thin_film",
                              "shape_anisotropy": False})
    with pytest.raises(ValueError, match="must be one of"):
        Material.from_config({**BASE, "Ku_J_per_m3": 1.25e6, "magnetostatics": "full"})
    none = Material.from_config({**BASE, "Ku_J_per_m3": 1.25e6, "magnetostatics": "none"})
    assert not none.shape_anisotropy and none.gap_field == none.Hk  # the default follows magnetostatics


def test_in_plane_films_are_thin_film_materials():
    # K_eff < 0 is a legitimate in-plane film with the thin-film kernel; the local chain model keeps
    # refusing it (its dispersion and wall set-ups start from ±ẑ), as for FePt
    soft = {**BASE, "Ku_J_per_m3": 0.1e6}
    film = Material.from_config({**soft, "magnetostatics": "thin_film"})
    assert film.K_U < 0 and film.film_thickness == film.a
    with pytest.raises(ValueError, match="perpendicular easy axis"):
        film.require_perpendicular("the domain-wall set-up")
    with pytest.raises(ValueError, match="Hk - Ms"):
        Material.from_config(soft)


def test_packaged_fept_is_unchanged():
    assert load("fept") == Material.fept()
    assert set(yaml.safe_load((ROOT / "conf/material/fept.yaml").read_text())) <= set(CONFIG_KEYS)


def test_dmi_standard_problem():
    # Cortés-Ortuño et al. (2018): A = 13 pJ/m, D = 3 mJ/m² (−3 here), Ms = 0.86 MA/m, Ku = 0.4 MJ/m³
    mat = load("dmi_standard")
    assert (mat.A, mat.D, mat.Ms, mat.a, mat.film_thickness) == (13e-12, -3e-3, 0.86e6, 1e-9, 2e-9)
    assert mat.magnetostatics == "none" and not mat.shape_anisotropy
    assert mat.K_U == pytest.approx(0.4e6, rel=1e-12)  # no shape anisotropy: K_eff = Ku
    assert mat.Hk == pytest.approx(740.26e3, rel=1e-5)
    assert mat.critical_dmi == pytest.approx(2.903e-3, rel=1e-3)


def test_ptco_film():
    mat = load("ptco")
    k_eff = 1.25e6 - MU0 * 1.1e6**2 / 2
    assert mat.K_U == pytest.approx(k_eff, rel=1e-12) and mat.K_U == pytest.approx(0.490e6, rel=1e-3)
    assert mat.critical_dmi == pytest.approx(4 * math.sqrt(16e-12 * k_eff) / math.pi, rel=1e-12)
    assert 0 < mat.D < mat.critical_dmi == pytest.approx(3.56e-3, rel=2e-3)
    assert mat.local_shape_term and mat.film_thickness == pytest.approx(0.6e-9)


def test_in_plane_films_are_refused_where_the_set_up_needs_a_perpendicular_axis():
    from spsll.physics.measure.dispersion import simulate_dispersions
    from spsll.physics.measure.domain_wall import relax_domain_walls

    in_plane = dataclasses.replace(load("ptco"), Hk=0.5e6, magnetostatics="thin_film")
    with pytest.raises(ValueError, match="perpendicular easy axis"):
        relax_domain_walls(in_plane, [10e-9], [0.0])
    with pytest.raises(ValueError, match="perpendicular easy axis"):
        simulate_dispersions(in_plane, [10e-9], [0.0])
