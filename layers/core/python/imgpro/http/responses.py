"""What an endpoint returns, and its API Gateway proxy form."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

_JSON = "application/json"


@dataclass(frozen=True)
class Response:
    status: int
    body: Any = None
    """A JSON-serializable value, raw bytes, or None for an empty body."""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status=status, body=body, headers=dict(headers or {}))

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status=status)

    def to_proxy(self) -> dict[str, Any]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            body, encoded = base64.b64encode(self.body).decode("ascii"), True
        elif self.body is None:
            body, encoded = "", False
        else:
            headers.setdefault("Content-Type", _JSON)
            body, encoded = json.dumps(self.body, separators=(",", ":")), False
        return {
            "statusCode": self.status,
            "headers": headers,
            "body": body,
            "isBase64Encoded": encoded,
        }
