"""SPS-LL: the statistical pseudospectral Landau-Lifshitz model and defect inference."""

__version__ = "0.1.0"
