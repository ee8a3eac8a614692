"""Acknowledging AwsSolutions (cdk-nag) findings, next to the resource each is about.

The checks themselves run in the tests (tests/infra/test_infra_nag.py): cdk-nag 3.x is a
CDK validation plugin, and an unacknowledged finding fails the synthesis. Acknowledging
needs only aws-cdk-lib, so the app does not depend on cdk-nag at deploy time.

IAM4 and IAM5 findings are acknowledged one by one, by their exact text (the policy ARN,
the wildcard action, or the resource with its logical IDs); every other rule by its id.
"""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from constructs import Construct, IConstruct

_PREFIX = "AwsSolutions::AwsSolutions-"
BASIC_EXECUTION_ROLE = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
)


def acknowledge(scope: IConstruct, rule: str, reason: str, *, findings: Iterable[str] = ()) -> None:
    """Acknowledge `rule` (e.g. `S1`, `IAM5`) on `scope` and everything under it.

    `findings`: for IAM4/IAM5, the exact finding texts (`Resource::...`, `Action::...`,
    `Policy::...`); the rule as a whole is never acknowledged for those.
    """
    if not reason.strip():
        raise ValueError("an acknowledgement needs a reason")
    ids = [f"{_PREFIX}{rule}[{finding}]" for finding in findings] or [f"{_PREFIX}{rule}"]
    cdk.Validations.of(scope).acknowledge(*(cdk.Acknowledgment(id=i, reason=reason) for i in ids))


def arn_finding(resource: Construct, suffix: str = "", attribute: str = "Arn") -> str:
    """The IAM5 finding text of `<resource's Arn>suffix`, e.g. `Resource::<Bucket.Arn>/o/*`."""
    child = resource.node.default_child
    assert isinstance(child, cdk.CfnElement), f"{resource.node.path} has no L1 resource"
    logical_id = cdk.Stack.of(resource).resolve(child.logical_id)
    return f"Resource::<{logical_id}.{attribute}>{suffix}"
