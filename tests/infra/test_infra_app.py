from __future__ import annotations

import json

import pytest

from imgpro.routes import ROUTES, WORKERS
from infra.paths import FUNCTIONS_DIR, PROJECT_ROOT

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
