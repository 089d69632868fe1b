"""The SPS-LL model: no neural networks, no plotting, no config files — tensors in SI units.

``material`` (constants and derived quantities), ``grid`` (cells and wavenumbers), ``defects`` (the
RTN spectrum, sampler and explicit masks), ``terms`` (one field term per module), ``solvers`` (the
table from solver name to how the defects enter the exchange), ``llg`` and ``relax`` (integrators),
``measure`` (dispersion, domain wall, widths, the closed-form linear dispersion).
docs/architecture.md shows where each piece sits in the data flow.
"""
