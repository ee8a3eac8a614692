"""The `imgpro` operator commands, run as a second process against the local stack's moto
endpoint on a machine with no AWS configuration at all: every AWS_* variable unset and
an empty HOME. What they write, the stack's API sees at once."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING

import pytest
import requests

from tests.support.images import png

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

TABLE = "imgpro-local"  # imgpro.local.stack.TABLE


def _environment(home: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return {**env, "HOME": home}


def _run(
    stack: LocalStackProcess, *args: str, endpoint: str | None = None, table: str = TABLE
) -> subprocess.CompletedProcess[str]:
    """`imgpro ARGS --table imgpro-local --endpoint-url <moto>`, with no AWS configuration."""
    with tempfile.TemporaryDirectory(prefix="empty-home-") as home:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "imgpro.cli",
                *args,
                "--table",
                table,
                "--endpoint-url",
                endpoint or stack.aws_endpoint,
            ],
            capture_output=True,
            text=True,
            env=_environment(home),
            timeout=60,
        )


def _imgpro(stack: LocalStackProcess, *args: str) -> str:
    """The command's stdout; it must succeed."""
    done = _run(stack, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _refused(stack: LocalStackProcess, *args: str, **where: str) -> str:
    """The one line of a command that fails."""
    done = _run(stack, *args, **where)
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def _media(stack: LocalStackProcess, token: str) -> requests.Response:
    return requests.get(
        f"{stack.base_url}/v1/media",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def _sanctum(out: str) -> str:
    return out.rsplit(" ", 1)[-1].strip()


def test_issue_list_revoke_with_no_aws_configuration(local_stack) -> None:
    out = _imgpro(local_stack, "token", "issue", "initech", "--create-team", "--abilities", "read")
    assert re.fullmatch(r"token team=initech abilities=read : \d+\|\w{40}\n", out)
    token = _sanctum(out)
    token_id = token.split("|")[0]
    assert _media(local_stack, token).json() == {"data": [], "has_more": False}

    listed = _imgpro(local_stack, "token", "list", "initech").splitlines()
    assert listed[0].split() == ["ID", "ABILITIES", "CREATED", "LAST", "USED", "NAME"]
    (row,) = listed[1:]
    token_id_cell, abilities, _created, last_used = row.split()
    assert (token_id_cell, abilities) == (token_id, "read")
    assert last_used.startswith(time.strftime("%Y-%m-%dT", time.gmtime()))  # just used
    assert token.split("|")[1] not in "\n".join(listed)

    assert _imgpro(local_stack, "token", "revoke", "initech", token_id) == (
        f"revoked token {token_id} of team initech\n"
    )
    refused = _media(local_stack, token)
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"
    assert _imgpro(local_stack, "token", "list", "initech") == "team initech has no tokens\n"
    assert f"team initech has no token {token_id}" in _refused(
        local_stack, "token", "revoke", "initech", token_id
    )


def test_team_put_and_show_with_no_aws_configuration(local_stack) -> None:
    out = _imgpro(local_stack, "team", "put", "hooli", "--plan", "launch", "--public")
    assert out == (
        "team hooli plan=launch default=public max_images=10000 max_storage=10000000000"
        " strip_metadata=gps\n"
    )
    token = _sanctum(_imgpro(local_stack, "token", "issue", "hooli"))
    uploaded = requests.post(
        f"{local_stack.base_url}/v1/upload",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("a.png", png())},
        timeout=30,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert "url" in uploaded.json()  # public by default: it has a share URL

    shown = _imgpro(local_stack, "team", "show", "hooli").splitlines()
    assert shown[:3] == ["team:      hooli", "plan:      launch", "default:   public"]
    assert shown[3].startswith("images:    1 of 10,000 in ")
    assert shown[4].startswith(f"storage:   {uploaded.json()['filesize']:,} bytes")
    assert shown[5] == "overrides: none"


def test_issuing_for_an_unknown_team_is_refused(local_stack) -> None:
    assert "team 'umbrella' does not exist" in _refused(local_stack, "token", "issue", "umbrella")


def test_a_wrong_table_is_one_line(local_stack) -> None:
    assert _refused(local_stack, "team", "show", "acme", table="nope") == (
        f"imgpro team show: error: table 'nope' not found at {local_stack.aws_endpoint}: "
        "the local stack's table is imgpro-local\n"
    )


def test_a_stopped_stack_is_one_line(local_stack) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    message = _refused(local_stack, "token", "list", "acme", endpoint=endpoint)
    assert f"nothing answers at {endpoint}" in message


def test_the_apis_url_instead_of_moto_is_one_line(local_stack) -> None:
    message = _refused(local_stack, "team", "show", "acme", endpoint=local_stack.base_url)
    assert "did not answer as DynamoDB does" in message
