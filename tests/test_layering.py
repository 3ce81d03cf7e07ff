"""The layering the build checks (``lint-imports`` with the contracts in pyproject.toml):
it holds for the code as it is, and it fails on a wrong-way import — so the contracts are
not a check that cannot fail."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("portfolio", "governance", "scoring")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def copy_of_the_apps(tmp_path):
    for app in APPS:
        shutil.copytree(ROOT / app, tmp_path / app,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return tmp_path


def _append(module: Path, line: str) -> None:
    module.write_text(module.read_text() + f"\n{line}\n")


def test_the_code_keeps_every_contract(copy_of_the_apps):
    result = lint_imports(copy_of_the_apps)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_portfolio_importing_scoring_breaks_the_app_order(copy_of_the_apps):
    _append(copy_of_the_apps / "portfolio" / "hooks.py", "import scoring.models  # noqa")

    result = lint_imports(copy_of_the_apps)

    assert result.returncode == 1
    assert "portfolio.hooks -> scoring.models" in result.stdout


def test_a_service_importing_a_form_breaks_the_rules_below_pages(copy_of_the_apps):
    _append(copy_of_the_apps / "governance" / "services.py", "import governance.forms  # noqa")

    result = lint_imports(copy_of_the_apps)

    assert result.returncode == 1
    assert "governance.services is not allowed to import governance.forms" in result.stdout
