"""The layers the code keeps are contracts (pyproject.toml, [tool.importlinter]); these tests run them.

One run on the tree as it is (every contract kept), and runs on a copy of the tree with one
deliberate violation each, so that a contract that could not fail would show here.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["lfr_governance", "watchlists", "deployments", "matching", "tools"]
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())", "--no-cache"]


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(LINT, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd), "NO_COLOR": "1"})


def test_every_layer_contract_is_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    """The project's Python packages and its contracts, copied (no migrations needed for an import graph)."""
    copy = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "*.json"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


VIOLATIONS = [
    ("watchlists/_probe.py", "from matching.models import Alert\n",
     "watchlists is not allowed to import matching"),
    ("deployments/_probe.py", "def f():\n    from matching import selectors\n",
     "deployments is not allowed to import matching"),
    ("lfr_governance/_probe.py", "from deployments.models import Deployment\n",
     "lfr_governance is not allowed to import deployments"),
    ("matching/_probe.py", "import tools.residue\n", "matching is not allowed to import tools"),
    ("matching/engine/_probe.py", "from django.conf import settings\n", "matching.engine is not allowed to import django"),
    ("watchlists/_probe_a.py", "from . import _probe_b\n", "No cycles are allowed in watchlists"),
]


@pytest.mark.parametrize("path,source,message", VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
def test_a_deliberate_violation_breaks_its_contract(tree_copy, path, source, message):
    probe = tree_copy / path
    extra = []
    if path.endswith("_probe_a.py"):
        extra = [probe.with_name("_probe_b.py")]
        extra[0].write_text("def f():\n    from . import _probe_a\n")
    probe.write_text(source)
    try:
        result = _lint(tree_copy)
    finally:
        probe.unlink()
        for other in extra:
            other.unlink()
    assert result.returncode != 0
    assert message in result.stdout, result.stdout
