import os

from hypothesis import HealthCheck, settings

# `ci` keeps the suite within a few minutes on 2 cores; `dev` explores more; `thorough` for a long soak.
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def small_data(tmp_path_factory):
    """The small universe of tests/small.py, generated once per test session (read-only: copy before changing)."""
    from tests.small import make_small_data

    return make_small_data(tmp_path_factory.mktemp("small-data"))
