"""Call the real handler modules with real API Gateway REST proxy events.

Events start from `tests/events/rest_api_proxy.json` (the shape API Gateway sends)
and get the method, path, resource, headers, query and body of each call; the
handler is the very `functions/<name>/handler.py` that Lambda runs.
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from urllib3.filepost import encode_multipart_formdata

from imgpro.local import events as local_events
from imgpro.routes import Route

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@cache
def handler_module(function: str) -> ModuleType:
    path = ROOT / "functions" / function / "handler.py"
    spec = importlib.util.spec_from_file_location(f"functions_{function}_handler", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def match_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """API Gateway's matching, as the local stack implements it."""
    found = local_events.match_route(method, path)
    return None if found is None else (found.route, found.path_parameters or {})


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Result({self.status}, {self.body[:300]!r})"


class FakeContext:
    function_name = "test"
    memory_limit_in_mb = 256
    aws_request_id = "test-request"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


class Gateway:
    """A client that speaks to handlers through API Gateway events."""

    def __init__(self, tokens: dict[str, str] | None = None) -> None:
        self.tokens = tokens or {}

    def request(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        files: dict[str, tuple[str, bytes]] | None = None,
        data: dict[str, str] | None = None,
    ) -> Result:
        parts = urlsplit(url)
        matched = match_route(method, parts.path)
        if matched is None:
            return Result(404, {}, b'{"error":"Not found","code":"not_found"}')
        route, params = matched
        all_headers = {"Host": "api.example.test", "X-Forwarded-Proto": "https"}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {self.tokens.get(token, token)}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        if files is not None or data is not None:
            fields: list[tuple[str, Any]] = list((data or {}).items())
            fields += [(name, (fname, content)) for name, (fname, content) in (files or {}).items()]
            body, content_type = encode_multipart_formdata(fields)
            all_headers["Content-Type"] = content_type
        all_headers.update(headers or {})
        event = self.event(method, parts.path, route, params, parts.query, all_headers, body)
        response = handler_module(route.function).handler(event, FakeContext())
        return self._result(response)

    @staticmethod
    def event(
        method: str,
        path: str,
        route: Route,
        params: dict[str, str],
        query: str,
        headers: dict[str, str],
        body: bytes | None,
    ) -> dict[str, Any]:
        event = copy.deepcopy(load_event("rest_api_proxy.json"))
        pairs = parse_qsl(query, keep_blank_values=True)
        multi: dict[str, list[str]] = {}
        for key, value in pairs:
            multi.setdefault(key, []).append(value)
        event.update(
            resource=route.path,
            path=path,
            httpMethod=method,
            headers=headers,
            multiValueHeaders={k: [v] for k, v in headers.items()},
            queryStringParameters={k: v[-1] for k, v in multi.items()} or None,
            multiValueQueryStringParameters=multi or None,
            pathParameters=params or None,
        )
        event["requestContext"].update(
            resourcePath=route.path, httpMethod=method, path=f"/prod{path}"
        )
        content_type = headers.get("Content-Type", "")
        if body:
            if local_events.is_binary_media_type(content_type):
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
            else:
                event["body"] = body.decode()
        return event

    @staticmethod
    def _result(response: dict[str, Any]) -> Result:
        headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = values[-1]
        raw = response.get("body") or ""
        body = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
        return Result(response["statusCode"], headers, body)

    def get(self, url: str, **kw: Any) -> Result:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Result:
        return self.request("POST", url, **kw)

    def patch(self, url: str, **kw: Any) -> Result:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> Result:
        return self.request("DELETE", url, **kw)

    def upload(
        self,
        token: str = "acme",
        content: bytes | None = None,
        *,
        filename: str = "photo.jpg",
        headers: dict[str, str] | None = None,
        **fields: str,
    ) -> Result:
        from tests.support.images import jpeg

        return self.post(
            "/v1/upload",
            token=token,
            files={"file": (filename, content if content is not None else jpeg())},
            data=fields,
            headers=headers,
        )
