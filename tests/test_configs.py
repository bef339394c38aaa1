"""The shipped configs pass the workflow's schema, and the report's methods text lists a config's departures."""

from __future__ import annotations

import types
from pathlib import Path

import jinja2
import pytest
import yaml
from snakemake.utils import validate

REPO = Path(__file__).resolve().parents[1]
SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


@pytest.mark.parametrize("path", sorted([*(REPO / "config").glob("*.yaml"), *(REPO / "benchmarks" / "configs").glob("*.yaml")]),
                         ids=lambda p: p.name)
def test_shipped_config_passes_the_schema(path):
    validate(yaml.safe_load(path.read_text()), SCHEMA)


def test_cpu_config_states_its_departures_in_the_methods_text():
    config = yaml.safe_load((REPO / "config" / "cpu.yaml").read_text())
    assert config["device"] == "cpu" and config["splits"]["n"] == 20
    assert all(config["methods"][m]["early_stopping"] for m in ("mlp_wd", "mlp_l1"))
    template = jinja2.Template((REPO / "workflow" / "report" / "workflow.rst").read_text())
    text = template.render(snakemake=types.SimpleNamespace(config=config))
    section = text.split("Departures from the paper's protocol")[1].split("The exact configuration")[0]
    assert [line[2:] for line in section.splitlines() if line.startswith("- ")] == [
        " ".join(d.split()) for d in config["departures"]]
    assert "Departures" not in template.render(snakemake=types.SimpleNamespace(config={**config, "departures": []}))


def test_the_cpu_benchmark_config_runs_cpu_yaml_on_a_simulated_set():
    """benchmarks/configs/cpu_gds_scale.yaml measures config/cpu.yaml: everything but the data must agree."""
    cpu = yaml.safe_load((REPO / "config" / "cpu.yaml").read_text())
    bench = yaml.safe_load((REPO / "benchmarks" / "configs" / "cpu_gds_scale.yaml").read_text())
    assert all("simulate" in d for d in bench["datasets"].values())
    ignored = {"datasets", "budget_hours"}
    assert {k: v for k, v in bench.items() if k not in ignored} == {k: v for k, v in cpu.items() if k not in ignored}
