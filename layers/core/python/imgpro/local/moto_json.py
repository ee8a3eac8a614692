"""moto's DynamoDB item responses as plain `json.dumps`, not through its generic serializer.

moto (5.2) answers every DynamoDB call through `moto.core.serialize`, which walks the
operation's output shape member by member, trying several spellings of each name: a
Query of 50 media items (about 25 attributes each) takes some 60 ms there, against
about 5 ms for the query itself, and it is most of a list page's time on the local stack.
For the operations that return items, what moto hands the serializer is already the wire
JSON (DynamoDB's JSON protocol has no timestamps, and an item's names are the table's):
only binary values need base64. This answers those as `json.dumps` does, and leaves
anything else (an error, a timestamp, a name the output shape lacks) to moto.

Installed by the local stack's moto server (`imgpro.local.aws`); it changes no response
(`tests/unit/test_local_moto_json.py` compares it with moto's own on every type).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from typing import Any

from moto import settings
from moto.core.common_types import TYPE_RESPONSE
from moto.core.responses import ActionContext, ActionResult
from moto.core.serialize import JSONSerializer
from moto.dynamodb.responses import DynamoResult

ITEM_OPERATIONS = frozenset(
    {
        "BatchGetItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "UpdateItem",
    }
)
"""Operations whose output is items (and counts, keys, capacity): no timestamps."""

_MARK = "_imgpro_plain_json"
_lock = threading.Lock()
Execute = Callable[[ActionResult, ActionContext], TYPE_RESPONSE]
_moto_execute: Execute | None = None


def install() -> None:
    """Answer `ITEM_OPERATIONS` as plain JSON from now on, in this process (idempotent)."""
    global _moto_execute
    with _lock:
        if getattr(DynamoResult.execute_result, _MARK, False):
            return
        original: Execute = DynamoResult.execute_result
        _moto_execute = original

        def execute_result(self: ActionResult, context: ActionContext) -> TYPE_RESPONSE:
            plain = plain_response(self.result, context)
            return plain if plain is not None else original(self, context)

        setattr(execute_result, _MARK, True)
        setattr(DynamoResult, "execute_result", execute_result)  # noqa: B010


def uninstall() -> None:
    """Back to moto's serializer for every operation (for tests)."""
    global _moto_execute
    with _lock:
        if _moto_execute is not None:
            setattr(DynamoResult, "execute_result", _moto_execute)  # noqa: B010
            _moto_execute = None


def plain_response(result: object, context: ActionContext) -> TYPE_RESPONSE | None:
    """(status, headers, body) as moto's serializer would give them, or None to let it."""
    operation = context.operation_model
    service = context.service_model
    if (
        settings.PRETTIFY_RESPONSES
        or operation.name not in ITEM_OPERATIONS
        or service.protocol != "json"
        or not issubclass(context.serializer_class, JSONSerializer)
        or not isinstance(result, dict)
    ):
        return None
    output = operation.output_shape
    members = getattr(output, "members", None)
    if members is None or not result.keys() <= members.keys():
        return None
    if any(value is None for value in result.values()):
        return None  # the serializer leaves a None member out; rarer than worth copying
    try:
        body = json.dumps(result, default=_blob)
    except (TypeError, ValueError):
        return None
    version = service.metadata.get("jsonVersion", "1.0")
    status = int(operation.http.get("responseCode", 200))
    return status, {"Content-Type": f"application/x-amz-json-{version}"}, body


def _blob(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is for moto's serializer")
