from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Template

from imgpro.routes import ROUTES, WORKERS
from infra.paths import FUNCTIONS_DIR, PROJECT_ROOT
from infra.resize import RESIZE_FUNCTION

pytestmark = pytest.mark.infra


def test_cdk_json_runs_the_app_with_the_project_venv() -> None:
    settings = json.loads((PROJECT_ROOT / "cdk.json").read_text())
    assert settings["app"] == ".venv/bin/python app.py"


def test_cdk_json_keeps_the_cli_off_the_network() -> None:
    settings = json.loads((PROJECT_ROOT / "cdk.json").read_text())
    assert settings["notices"] is False
    # The CLI ignores a top-level "cli-telemetry"; only the one in context counts.
    assert settings["context"]["cli-telemetry"] is False


@pytest.mark.parametrize("route", ROUTES, ids=[route.function for route in ROUTES])
def test_every_route_has_a_handler_module_to_deploy(route) -> None:
    assert (FUNCTIONS_DIR / route.function / "handler.py").is_file()


@pytest.mark.parametrize("worker", WORKERS, ids=[worker.function for worker in WORKERS])
def test_every_worker_has_a_handler_module_to_deploy(worker) -> None:
    assert (FUNCTIONS_DIR / worker.function / "handler.py").is_file()


def test_the_resize_function_has_a_handler_module_to_deploy() -> None:
    assert (FUNCTIONS_DIR / RESIZE_FUNCTION / "handler.py").is_file()


def _references(node: Any, resources: Mapping[str, Any]) -> set[str]:
    """Logical IDs that `node` refers to through Ref or Fn::GetAtt."""
    if isinstance(node, list):
        return set().union(*(_references(item, resources) for item in node))
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    if node.get("Ref") in resources:
        found.add(node["Ref"])
    if "Fn::GetAtt" in node:
        target = node["Fn::GetAtt"]
        found.add(target[0] if isinstance(target, list) else target.split(".")[0])
    return found.union(*(_references(value, resources) for value in node.values()))


def test_template_has_no_dependency_cycle(template: Template) -> None:
    # CloudFormation refuses a cycle only at deploy time; the resize function naming the
    # distribution that uses its URL as an origin would be one.
    resources = template.to_json()["Resources"]
    depends: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        explicit = resource.get("DependsOn", [])
        depends[logical_id] = _references(resource.get("Properties", {}), resources) | set(
            [explicit] if isinstance(explicit, str) else explicit
        )
    remaining = dict(depends)
    while remaining:
        ready = [name for name, needs in remaining.items() if not needs & remaining.keys()]
        assert ready, f"dependency cycle among: {sorted(remaining)}"
        for name in ready:
            del remaining[name]
