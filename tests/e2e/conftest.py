import pytest
from django.core.management import call_command


@pytest.fixture
def demo_portfolio(transactional_db):
    """The demo portfolio exactly as `make run` loads it."""
    call_command("seed_demo", verbosity=0)


@pytest.fixture
def screenshots(tmp_path_factory):
    """Where browser tests leave the screenshots a person can look at."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
