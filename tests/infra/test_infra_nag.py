"""AwsSolutions checks (cdk-nag) and cfn-lint on the template `cdk deploy` would deploy.

cdk-nag 3.x runs as a validation plugin: any finding not acknowledged in code (infra/nag.py,
next to the resource it is about) makes the synthesis raise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))
VARIANTS = {
    "defaults": {},
    "dev": {"imgpro:dev": "true"},
    "logs-switched": {"imgpro:accessLogs": "false", "imgpro:apiLogs": "full"},
    "domains-and-cors": {
        "imgpro:apiDomain": "api.example.com",
        "imgpro:apiCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/a-1",
        "imgpro:cdnDomain": "img.example.com",
        "imgpro:cdnCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/b-2",
        "imgpro:corsOrigins": ["https://app.example.com"],
    },
    "alarm-topics": {
        "imgpro:alarmEmail": "ops@example.com",
        "imgpro:alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:ops-pager",
    },
    "no-tracing-no-dashboard": {"imgpro:tracing": "false", "imgpro:dashboard": "false"},
}


def _checked(context: dict[str, Any]) -> dict[str, Any]:
    app = cdk.App(context=context)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = ImgProStack(app, "ImgPro")
    # Raises, listing every finding, when one is not acknowledged.
    return Template.from_stack(stack).to_json()


@pytest.fixture(scope="module")
def checked_templates(deploy_context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: _checked({**deploy_context, **extra}) for name, extra in VARIANTS.items()}


@pytest.mark.parametrize("variant", VARIANTS)
def test_aws_solutions_checks_pass(
    checked_templates: dict[str, dict[str, Any]], variant: str
) -> None:
    assert checked_templates[variant]["Resources"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_cfn_lint_finds_no_error(
    checked_templates: dict[str, dict[str, Any]], variant: str, tmp_path: Path
) -> None:
    path = tmp_path / "ImgPro.template.json"
    path.write_text(json.dumps(checked_templates[variant]))
    result = subprocess.run(
        [CFN_LINT, "--non-zero-exit-code", "error", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
