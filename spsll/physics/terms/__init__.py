"""Field terms, one per module, each with ``field(m)`` (A/m) and ``energy(m)`` (J/m² per sample).

``exchange`` (non-local, spectral; its kernel comes from the solver), ``anisotropy`` (uniaxial),
``shape`` (the thin-film local shape term), ``zeeman`` (uniform applied field), ``dmi`` (interfacial
DMI; its filter comes from the solver), ``magnetostatics`` (the thin-film kernel).
:func:`local_terms` gives a material's local terms as the model uses them.
"""

from __future__ import annotations

from spsll.physics.material import Material
from spsll.physics.terms.anisotropy import UniaxialAnisotropy
from spsll.physics.terms.dmi import DMITerm
from spsll.physics.terms.exchange import ExchangeTerm
from spsll.physics.terms.magnetostatics import ThinFilmMagnetostatics
from spsll.physics.terms.shape import ShapeAnisotropy
from spsll.physics.terms.zeeman import Zeeman

__all__ = ["DMITerm", "ExchangeTerm", "ShapeAnisotropy", "ThinFilmMagnetostatics", "UniaxialAnisotropy", "Zeeman",
           "local_terms"]


def local_terms(material: Material) -> tuple:
    """Anisotropy, plus the local shape term when ``material.local_shape_term`` (magnetostatics=local
    with the shape anisotropy; ``thin_film`` replaces it by its kernel), plus Zeeman when a field is
    applied."""
    terms: list = [UniaxialAnisotropy.of(material)]
    if material.local_shape_term:
        terms.append(ShapeAnisotropy.of(material))
    if any(h != 0.0 for h in material.applied_field):
        terms.append(Zeeman.of(material))
    return tuple(terms)
