from tests.training.conftest import small_data  # noqa: F401  (shared tiny datasets)
