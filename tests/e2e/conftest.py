import pytest


@pytest.fixture
def screenshots(tmp_path_factory):
    """Where browser tests leave the screenshots a person can look at."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
