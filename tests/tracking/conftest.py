from tests.models.conftest import _one_thread, dispersion_data, wall_data  # noqa: F401  (tiny synthetic data)
