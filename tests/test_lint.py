"""Static checks that keep the workflow and the code in shape: snakemake --lint, snakefmt, ruff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True)


def test_snakemake_lint_is_clean():
    result = run("snakemake", "--lint", "--configfile", str(REPO / "config" / "config.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_snakefmt_formatting_holds():
    result = run("snakefmt", "--check", "Snakefile", "workflow")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean():
    result = run("ruff", "check", "genesel", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_config_schema_names_the_registered_methods():
    """One registry of methods (genesel/registry.py); the schema must name exactly those."""
    import yaml

    from genesel.registry import METHODS

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert list(schema["properties"]["methods"]["properties"]) == list(METHODS)
