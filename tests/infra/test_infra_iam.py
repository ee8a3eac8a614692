from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from imgpro.routes import ROUTES, WORKERS
from infra.resize import RESIZE_FUNCTION
from infra.signing import DEFAULT_KEY_PARAMETER
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

UPLOADERS = ("upload", "import_url")
DELETERS = ("delete_media", "batch_delete")
MOVERS = ("update_media", "batch_update")
DIRECT_UPLOAD_SIGNERS = ("upload_direct",)
# Resumable uploads: each route's actions on incoming/*, and nothing else in the bucket
# (but the abort, which deletes its pending media as a delete does).
MULTIPART = {
    "multipart_create": {"s3:PutObject"},
    "multipart_sign_part": {"s3:PutObject"},
    "multipart_sign_parts": {"s3:PutObject"},
    "multipart_list_parts": {"s3:ListMultipartUploadParts"},
    "multipart_complete": {"s3:PutObject", "s3:ListMultipartUploadParts"},
}
NO_OBJECT_ACCESS = tuple(
    route.function
    for route in ROUTES
    if route.function
    not in (*UPLOADERS, *DELETERS, *MOVERS, *DIRECT_UPLOAD_SIGNERS, *MULTIPART, "multipart_abort")
)
ROUTE_NAMES = tuple(route.function for route in ROUTES)
WORKER_NAMES = tuple(worker.function for worker in WORKERS)
TABLE_USERS = ROUTE_NAMES + WORKER_NAMES
ALL_FUNCTIONS = (*TABLE_USERS, RESIZE_FUNCTION)
# Every route that answers with media JSON signs the `src` of private media.
URL_SIGNERS = tuple(name for name in ROUTE_NAMES if name != "service_info")
# Aborting a resumable upload deletes its media as a delete does, queueing included.
INVALIDATORS = (*DELETERS, *MOVERS, "multipart_abort")
MEDIA_OBJECTS = {"o/*", "v/*", "private/o/*", "private/v/*"}

Statements = Callable[[str], list[dict[str, Any]]]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        action = statement["Action"]
        actions.update([action] if isinstance(action, str) else action)
    return actions


def _s3_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if any(a.startswith("s3:") for a in _actions([s]))]


def _object_prefixes(statement: dict[str, Any], bucket: str) -> set[str]:
    """Key patterns an S3 statement covers, e.g. {"o/*"}; bucket-level ARNs are skipped."""
    resources = statement["Resource"]
    prefixes = set()
    for resource in resources if isinstance(resources, list) else [resources]:
        if "Fn::Join" in resource:
            head, tail = resource["Fn::Join"][1]
            assert head == {"Fn::GetAtt": [bucket, "Arn"]}, json.dumps(resource)
            prefixes.add(tail.removeprefix("/"))
        else:
            assert resource == {"Fn::GetAtt": [bucket, "Arn"]}, json.dumps(resource)
    return prefixes


@pytest.fixture(scope="module")
def bucket_id(stack: ImgProStack) -> str:
    return stack.get_logical_id(stack.storage.bucket.node.default_child)


@pytest.mark.parametrize("name", TABLE_USERS)
def test_every_route_and_worker_can_read_and_write_the_table_and_its_index(
    name: str, stack: ImgProStack, role_statements: Statements
) -> None:
    table = stack.get_logical_id(stack.storage.table.node.default_child)
    table_arn = {"Fn::GetAtt": [table, "Arn"]}
    (statement,) = [s for s in role_statements(name) if "dynamodb:PutItem" in _actions([s])]
    assert {"dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"} <= (
        _actions([statement])
    )
    assert statement["Resource"] == [table_arn, {"Fn::Join": ["", [table_arn, "/index/*"]]}]


@pytest.mark.parametrize("name", NO_OBJECT_ACCESS)
def test_functions_that_only_touch_items_have_no_s3_access(
    name: str, role_statements: Statements
) -> None:
    assert _s3_statements(role_statements(name)) == []


def _prefixes_with(statements: list[dict[str, Any]], action: str, bucket: str) -> set[str]:
    return {
        prefix
        for statement in statements
        if action in _actions([statement])
        for prefix in _object_prefixes(statement, bucket)
    }


@pytest.mark.parametrize("name", UPLOADERS)
def test_upload_functions_only_write_and_undo_originals_on_both_sides(
    name: str, role_statements: Statements, bucket_id: str
) -> None:
    # PutObject with the lifecycle tags; DeleteObject to undo a create whose record
    # failed. No read and no listing: nothing at bucket level (Bucket.grant_read would
    # have added s3:List* on the whole bucket).
    assert _object_access(role_statements(name), bucket_id) == {
        side: {"s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"}
        for side in ("o/*", "private/o/*")
    }


@pytest.mark.parametrize("name", UPLOADERS)
def test_upload_functions_cannot_list_or_read_the_bucket(
    name: str, role_statements: Statements
) -> None:
    actions = _actions(role_statements(name))
    assert not any(a.startswith(("s3:List", "s3:Get")) for a in actions)


@pytest.mark.parametrize("name", DELETERS)
def test_delete_functions_can_delete_media_on_both_sides_and_pending_uploads(
    name: str, role_statements: Statements, bucket_id: str
) -> None:
    statements = _s3_statements(role_statements(name))
    assert _prefixes_with(statements, "s3:DeleteObject*", bucket_id) == {
        *MEDIA_OBJECTS,
        "incoming/*",
    }


@pytest.mark.parametrize("name", DELETERS + MOVERS)
def test_delete_and_move_functions_cannot_list_the_bucket(
    name: str, role_statements: Statements
) -> None:
    # The record is the inventory (storage.move_to_side, keys.media_object_keys).
    assert not any(a.startswith("s3:List") for a in _actions(role_statements(name)))


@pytest.mark.parametrize("name", DELETERS)
def test_delete_functions_cannot_write_objects(name: str, role_statements: Statements) -> None:
    actions = _actions(role_statements(name))
    assert not any(a.startswith(("s3:Put", "s3:Abort")) for a in actions)


@pytest.mark.parametrize("name", DELETERS)
def test_delete_functions_cannot_read_objects(name: str, role_statements: Statements) -> None:
    actions = _actions(role_statements(name))
    assert not any(a.startswith(("s3:Get", "s3:List*")) for a in actions)


def test_no_function_has_wildcard_actions(role_statements: Statements) -> None:
    for name in ALL_FUNCTIONS:
        actions = _actions(role_statements(name))
        assert not any(a in ("*", "s3:*", "dynamodb:*") for a in actions), name


def _object_access(statements: list[dict[str, Any]], bucket: str) -> dict[str, set[str]]:
    """S3 actions per key pattern; "" stands for the bucket itself (listing, its settings)."""
    access: dict[str, set[str]] = {}
    for statement in _s3_statements(statements):
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            if "Fn::Join" in resource:
                head, tail = resource["Fn::Join"][1]
                assert head == {"Fn::GetAtt": [bucket, "Arn"]}, json.dumps(resource)
                pattern = tail.removeprefix("/")
            else:
                assert resource == {"Fn::GetAtt": [bucket, "Arn"]}, json.dumps(resource)
                pattern = ""
            access.setdefault(pattern, set()).update(_actions([statement]))
    return access


@pytest.mark.parametrize("name", DIRECT_UPLOAD_SIGNERS)
def test_direct_upload_signer_may_only_put_objects_under_incoming(
    name: str, role_statements: Statements, bucket_id: str
) -> None:
    # The presigned POST it signs needs s3:PutObject there, and nothing else does.
    assert _object_access(role_statements(name), bucket_id) == {"incoming/*": {"s3:PutObject"}}


@pytest.mark.parametrize("name", MULTIPART)
def test_resumable_upload_routes_act_only_on_multipart_uploads_under_incoming(
    name: str, role_statements: Statements, bucket_id: str
) -> None:
    assert _object_access(role_statements(name), bucket_id) == {"incoming/*": MULTIPART[name]}


def test_aborting_a_resumable_upload_may_abort_it_and_delete_its_pending_media(
    role_statements: Statements, bucket_id: str
) -> None:
    access = _object_access(role_statements("multipart_abort"), bucket_id)
    assert "s3:AbortMultipartUpload" in access["incoming/*"]
    assert (
        _object_access(role_statements("delete_media"), bucket_id).items()
        <= {
            **access,
            "incoming/*": access["incoming/*"] - {"s3:AbortMultipartUpload"},
        }.items()
    )


@pytest.mark.parametrize("name", WORKER_NAMES)
def test_worker_touches_only_incoming_uploads_and_originals(
    name: str, role_statements: Statements, bucket_id: str
) -> None:
    access = _object_access(role_statements(name), bucket_id)
    # No bucket-level entry: it can neither list nor read the bucket's settings.
    assert set(access) == {"incoming/*", "o/*", "private/o/*"}


@pytest.mark.parametrize("name", WORKER_NAMES)
def test_worker_reads_and_deletes_the_uploaded_file_only(
    name: str, role_statements: Statements, bucket_id: str
) -> None:
    access = _object_access(role_statements(name), bucket_id)
    assert access["incoming/*"] == {"s3:GetObject", "s3:DeleteObject*"}


@pytest.mark.parametrize("name", WORKER_NAMES)
@pytest.mark.parametrize("side", ["o/*", "private/o/*"])
def test_worker_writes_originals_and_may_delete_one_it_failed_to_record(
    name: str, side: str, role_statements: Statements, bucket_id: str
) -> None:
    originals = _object_access(role_statements(name), bucket_id)[side]
    assert {"s3:PutObject", "s3:DeleteObject*"} <= originals
    assert not any(a.startswith(("s3:Get", "s3:List")) for a in originals)


# --- moving media between the public and the private side ------------------------------


@pytest.mark.parametrize("name", MOVERS)
def test_move_functions_copy_and_delete_media_objects_on_both_sides(
    name: str, role_statements: Statements, bucket_id: str
) -> None:
    access = _object_access(role_statements(name), bucket_id)
    assert access == {
        **{
            pattern: {
                "s3:GetObject",
                "s3:GetObjectTagging",
                "s3:PutObject",
                "s3:PutObjectTagging",
                "s3:DeleteObject*",
            }
            for pattern in MEDIA_OBJECTS
        },
    }


# --- the resize function -------------------------------------------------------------


def test_resize_reads_originals_and_writes_variants_only(
    role_statements: Statements, bucket_id: str
) -> None:
    assert _object_access(role_statements(RESIZE_FUNCTION), bucket_id) == {
        "o/*": {"s3:GetObject"},
        "private/o/*": {"s3:GetObject"},
        # Variants of ephemeral media carry the lifecycle backstop's tags; a variant whose
        # media was deleted or moved while it was rendered is deleted again.
        "v/*": {"s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"},
        "private/v/*": {"s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"},
    }


def test_resize_may_only_get_and_update_table_items(
    stack: ImgProStack, role_statements: Statements
) -> None:
    table = stack.get_logical_id(stack.storage.table.node.default_child)
    dynamodb = [s for s in role_statements(RESIZE_FUNCTION) if "dynamodb:" in str(s["Action"])]
    assert [(_actions([s]), s["Resource"]) for s in dynamodb] == [
        ({"dynamodb:GetItem", "dynamodb:UpdateItem"}, {"Fn::GetAtt": [table, "Arn"]})
    ]


def test_resize_policy_grants_nothing_but_objects_and_table_items(
    role_statements: Statements, without_tracing: Callable[[list], list]
) -> None:
    # Logging comes from the role's AWSLambdaBasicExecutionRole, and tracing from X-Ray's
    # statement, as for every function.
    statements = without_tracing(role_statements(RESIZE_FUNCTION))
    assert {a.split(":")[0] for a in _actions(statements)} == {"s3", "dynamodb"}


# --- signed URLs and invalidations ----------------------------------------------------


def _parameter_arn(name: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ssm:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":parameter{name}",
            ],
        ]
    }


@pytest.mark.parametrize("name", URL_SIGNERS)
def test_url_signers_may_read_only_the_signing_key_parameter(
    name: str, role_statements: Statements
) -> None:
    ssm = [s for s in role_statements(name) if "ssm:" in str(s["Action"])]
    assert [(s["Action"], s["Resource"]) for s in ssm] == [
        ("ssm:GetParameter", _parameter_arn(DEFAULT_KEY_PARAMETER))
    ]


@pytest.mark.parametrize("name", URL_SIGNERS)
def test_url_signers_may_decrypt_only_through_ssm(name: str, role_statements: Statements) -> None:
    (statement,) = [s for s in role_statements(name) if "kms:" in str(s["Action"])]
    assert statement["Action"] == "kms:Decrypt"
    assert statement["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {"Fn::Join": ["", ["ssm.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
        }
    }
    assert statement["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":kms:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":key/*",
            ],
        ]
    }


@pytest.mark.parametrize("name", [n for n in ALL_FUNCTIONS if n not in URL_SIGNERS])
def test_other_functions_cannot_read_the_signing_key(
    name: str, role_statements: Statements
) -> None:
    actions = _actions(role_statements(name))
    assert not any(a.startswith(("ssm:", "kms:")) for a in actions)


@pytest.mark.parametrize("name", INVALIDATORS)
def test_delete_and_move_functions_may_only_queue_invalidations(
    name: str, stack: ImgProStack, role_statements: Statements
) -> None:
    queue = stack.get_logical_id(stack.invalidation.queue.node.default_child)
    sqs = [s for s in role_statements(name) if "sqs:" in str(s["Action"])]
    assert [(s["Action"], s["Resource"]) for s in sqs] == [
        ("sqs:SendMessage", {"Fn::GetAtt": [queue, "Arn"]})
    ]


@pytest.mark.parametrize("name", [n for n in ALL_FUNCTIONS if n not in INVALIDATORS])
def test_other_functions_cannot_queue_invalidations(
    name: str, stack: ImgProStack, role_statements: Statements
) -> None:
    # A worker sends what failed every try to its own dead-letter queue (test_infra_workers).
    own_queue = stack.workers.dead_letters.get(name)
    allowed = (
        [{"Fn::GetAtt": [stack.get_logical_id(own_queue.node.default_child), "Arn"]}]
        if own_queue is not None
        else []
    )
    sqs = [s for s in role_statements(name) if any(a.startswith("sqs:") for a in _actions([s]))]
    assert [s["Resource"] for s in sqs] == allowed


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_no_route_worker_or_resize_function_touches_the_distribution(
    name: str, role_statements: Statements
) -> None:
    # Only the invalidation worker does (test_infra_invalidation).
    assert not any(a.startswith("cloudfront:") for a in _actions(role_statements(name)))


def test_the_import_function_has_exactly_the_upload_functions_rights(
    role_statements: Statements,
) -> None:
    """An SSRF that slipped past the fetcher could reach only what an upload can."""

    def normalized(name: str) -> list[str]:
        return sorted(json.dumps(statement, sort_keys=True) for statement in role_statements(name))

    assert normalized("import_url") == normalized("upload")


def test_no_function_runs_inside_a_vpc(template) -> None:
    """Outside any VPC an import reaches the internet and nothing private; inside one it
    could reach the VPC's own hosts."""
    for function in template.find_resources("AWS::Lambda::Function").values():
        assert "VpcConfig" not in function["Properties"]
