"""Operator tooling in a second process reaches the local stack's state through moto."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import requests

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e


def _imgpro(stack: LocalStackProcess, *args: str) -> str:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "imgpro.cli",
            *args,
            "--table",
            "imgpro-local",
            "--endpoint-url",
            stack.aws_endpoint,
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    ).stdout


def test_a_token_issued_by_a_second_process_works_on_the_stack(local_stack) -> None:
    out = _imgpro(local_stack, "token", "issue", "initech", "--abilities", "read")
    assert out.startswith("token team=initech abilities=read : ")
    token = out.rsplit(" ", 1)[-1].strip()
    response = requests.get(
        f"{local_stack.base_url}/v1/media",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json() == {"data": [], "has_more": False}


def test_a_team_made_public_by_default_uploads_public_media(local_stack) -> None:
    _imgpro(local_stack, "team", "put", "hooli", "--plan", "launch", "--public")
    token = _imgpro(local_stack, "token", "issue", "hooli").rsplit(" ", 1)[-1].strip()
    from tests.support.images import png

    response = requests.post(
        f"{local_stack.base_url}/v1/upload",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("a.png", png())},
        timeout=30,
    )
    assert response.status_code == 201
    assert "url" in response.json()
