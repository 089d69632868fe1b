from tests.evaluation.conftest import inverse_run  # noqa: F401  (a tiny inverse CNN run)
from tests.training.conftest import small_data  # noqa: F401  (shared tiny datasets)
