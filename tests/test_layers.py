"""The tree's shape: layers import downward only (import-linter contracts in pyproject.toml), app.py only
starts the web app, and no code file grows past 400 lines without the README saying why."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["shegong", "ingest", "knowledge", "assistant", "service", "eval", "webapp", "cli"]
MAX_LINES = 400

LINT = """
import sys
sys.path.insert(0, {root!r})
from importlinter import configuration
from importlinter.application.use_cases import lint_imports
configuration.configure()
sys.exit(0 if lint_imports(config_filename={config!r}, no_logo=True, cache_dir=None) else 1)
"""


def lint(root: Path) -> subprocess.CompletedProcess:
    """import-linter on the packages under ``root``, in a process of its own: it must find these packages,
    not the ones this process (or an editable install) has already imported."""
    code = LINT.format(root=str(root), config=str(root / "pyproject.toml"))
    return subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)


def test_layers_import_downward_only():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_layers_contract(tmp_path):
    """The contract can fail: the ground importing the service is caught."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.gguf"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    logs = tmp_path / "shegong" / "logs.py"
    logs.write_text(logs.read_text(encoding="utf-8") + "\nfrom service import accounts  # noqa\n", encoding="utf-8")
    result = lint(tmp_path)
    assert result.returncode == 1 and "shegong.logs -> service.accounts" in result.stdout, result.stdout


def test_app_py_only_starts_the_web_app():
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m.split(".")[0] for m in imported} == {"webapp"}, imported


def test_no_code_file_is_longer_than_400_lines_unless_the_readme_says_why():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    explained = set(re.findall(r"`([\w/]+\.py)`（\d+ 行）", readme))
    files = [p for name in [*PACKAGES, "tests"] for p in (ROOT / name).rglob("*.py")] + [ROOT / "app.py"]
    long = {str(p.relative_to(ROOT)): n for p in files
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert set(long) <= explained, {k: v for k, v in long.items() if k not in explained}
