"""The OpenAPI 3.1 document of the API, made from the route table and the wire types.

Paths and methods come from `imgpro.routes.ROUTES`; bodies and parameters from the types
in `imgpro.api_models` (through Pydantic's JSON Schema); error statuses and codes from
the `imgpro.errors` classes each operation may raise. What only a person can say (a
summary, which ability a route needs) is in `OPERATIONS`, one entry per route, and the
document refuses to build when a route has none. `GET /openapi.json` serves it with the
caller's base URL as the server; `make openapi` writes it to docs/openapi.json.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from imgpro import __version__, api_models
from imgpro.errors import (
    ApiError,
    BadRequest,
    Conflict,
    FetchTimeout,
    Forbidden,
    IdempotencyKeyReused,
    ImportFailed,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from imgpro.http import Request, Response
from imgpro.idempotency import HEADER as IDEMPOTENCY_KEY
from imgpro.keys import UID_PATTERN
from imgpro.routes import ROUTES, Route

Auth = Literal["none", "optional", "read", "write"]
JSON = "application/json"
MULTIPART = "multipart/form-data"
SECURITY_SCHEME = "bearerAuth"
_REF = "#/components/schemas/{model}"

_TOKEN_ERRORS: tuple[type[ApiError], ...] = (Unauthorized, Forbidden, RateLimited)
_CREATE_ERRORS: tuple[type[ApiError], ...] = (
    ValidationFailed,
    QuotaExceeded,
    Conflict,
    IdempotencyKeyReused,
)


@dataclass(frozen=True)
class Operation:
    """What the route table cannot say about a route."""

    summary: str
    description: str = ""
    auth: Auth = "none"
    query: Any = None
    """A TypedDict of query parameters."""
    body: Any = None
    body_media_type: str = JSON
    ok: int = 200
    ok_body: Any = None
    """The success body's type; None for no body."""
    ok_media_type: str = JSON
    errors: tuple[type[ApiError], ...] = ()
    idempotent: bool = False
    """Takes an `Idempotency-Key` header."""
    links: Mapping[str, str] = field(default_factory=dict)
    """Operations the success response's `id` leads to (`operationId`s), for clients and
    stateful contract tests."""
    tag: str = "Media"


_MEDIA_LINKS = {
    "GetMedia": "getMedia",
    "UpdateMedia": "updateMedia",
    "DeleteMedia": "deleteMedia",
}

_UPLOAD_LINKS = {
    "ListParts": "listUploadParts",
    "SignPart": "signUploadPart",
    "AbortUpload": "abortUpload",
}

OPERATIONS: Mapping[tuple[str, str], Operation] = {
    ("GET", "/"): Operation("Service information", ok_body=api_models.ServiceInfo, tag="Service"),
    ("POST", "/v1/upload"): Operation(
        "Upload an image",
        "Send the image as `file` in multipart/form-data. Bodies over about 4.5 MB do not"
        " fit through API Gateway: send those with POST /v1/upload/direct.",
        auth="write",
        body=api_models.UploadForm,
        body_media_type=MULTIPART,
        ok=201,
        ok_body=api_models.MediaObject,
        errors=(*_CREATE_ERRORS, PayloadTooLarge),
        idempotent=True,
        links=_MEDIA_LINKS,
    ),
    ("POST", "/v1/upload/direct"): Operation(
        "Start a large upload",
        "Announce a file of up to 100 MB: the answer is the media (status `processing`)"
        " and a presigned form to POST the file to S3 with. It becomes ready once stored.",
        auth="write",
        body=api_models.DirectUploadRequest,
        ok=201,
        ok_body=api_models.DirectUpload,
        errors=_CREATE_ERRORS,
        idempotent=True,
        links=_MEDIA_LINKS,
    ),
    ("POST", "/v1/import"): Operation(
        "Import an image from a URL",
        "The service fetches the URL (public addresses only, 20 s, 100 MB) and stores the"
        " image as an upload would.",
        auth="write",
        body=api_models.ImportRequest,
        ok=201,
        ok_body=api_models.MediaObject,
        errors=(*_CREATE_ERRORS, ImportFailed, FetchTimeout),
        idempotent=True,
        links=_MEDIA_LINKS,
    ),
    ("GET", "/v1/media"): Operation(
        "List media",
        "The team's media, newest first, by cursor (or offset), optionally by tags or ids.",
        auth="read",
        query=api_models.ListQuery,
        ok_body=api_models.Page,
        errors=(ValidationFailed,),
    ),
    ("PATCH", "/v1/media"): Operation(
        "Update several media",
        auth="write",
        query=api_models.IdsQuery,
        body=api_models.MediaUpdate,
        ok_body=api_models.BatchUpdated,
        errors=(ValidationFailed,),
    ),
    ("DELETE", "/v1/media"): Operation(
        "Delete several media",
        auth="write",
        query=api_models.IdsQuery,
        ok_body=api_models.BatchDeleted,
        errors=(ValidationFailed,),
    ),
    ("GET", "/v1/media/{uid}"): Operation(
        "Get one media",
        "Public media for anyone; private media only with a token of its team.",
        auth="optional",
        ok_body=api_models.MediaObject,
        errors=(NotFound,),
    ),
    ("PATCH", "/v1/media/{uid}"): Operation(
        "Update one media",
        auth="write",
        body=api_models.MediaUpdate,
        ok_body=api_models.MediaObject,
        errors=(ValidationFailed, NotFound),
    ),
    ("DELETE", "/v1/media/{uid}"): Operation(
        "Delete one media", auth="write", ok=204, errors=(NotFound,)
    ),
    ("GET", "/{uid}"): Operation(
        "Open a public sharing link",
        "The `url` of public media: a redirect to the image on the CDN.",
        ok=302,
        errors=(NotFound,),
    ),
    ("POST", "/v1/uploads/s3/multipart"): Operation(
        "Open a resumable upload",
        "An S3 multipart upload for a file of up to 100 MB, in the shapes of Companion's"
        " S3 API: point Uppy's `@uppy/aws-s3` (multipart) at `<API base>/v1/uploads` with"
        " the token in its `headers`. The media is created in `processing`.",
        auth="write",
        body=api_models.MultipartStart,
        ok=201,
        ok_body=api_models.MultipartStarted,
        errors=(ValidationFailed, QuotaExceeded),
        links=_UPLOAD_LINKS,
        tag="Resumable uploads",
    ),
    ("GET", "/v1/uploads/s3/multipart/{uploadId}"): Operation(
        "List the parts uploaded so far",
        auth="write",
        query=api_models.UploadKeyQuery,
        ok_body=list[api_models.UploadedPart],
        errors=(NotFound,),
        tag="Resumable uploads",
    ),
    ("DELETE", "/v1/uploads/s3/multipart/{uploadId}"): Operation(
        "Abort a resumable upload",
        "Its parts and its media are deleted.",
        auth="write",
        query=api_models.UploadKeyQuery,
        ok_body=api_models.Empty,
        errors=(NotFound,),
        tag="Resumable uploads",
    ),
    ("GET", "/v1/uploads/s3/multipart/{uploadId}/batch"): Operation(
        "Presign several parts",
        auth="write",
        query=api_models.PartNumbersQuery,
        ok_body=api_models.PartUrls,
        errors=(ValidationFailed, NotFound),
        tag="Resumable uploads",
    ),
    ("GET", "/v1/uploads/s3/multipart/{uploadId}/{partNumber}"): Operation(
        "Presign one part",
        auth="write",
        query=api_models.UploadKeyQuery,
        ok_body=api_models.PartUrl,
        errors=(ValidationFailed, NotFound),
        tag="Resumable uploads",
    ),
    ("POST", "/v1/uploads/s3/multipart/{uploadId}/complete"): Operation(
        "Complete a resumable upload",
        "S3 assembles the parts; the media becomes ready once processed, like a direct upload.",
        auth="write",
        query=api_models.UploadKeyQuery,
        body=api_models.MultipartComplete,
        ok_body=api_models.MultipartCompleted,
        errors=(ValidationFailed, NotFound),
        tag="Resumable uploads",
    ),
    ("GET", "/openapi.json"): Operation("This document", ok_body=dict[str, Any], tag="Service"),
    ("GET", "/docs"): Operation(
        "The API playground", ok_body=str, ok_media_type="text/html", tag="Service"
    ),
    ("GET", "/docs/{asset}"): Operation(
        "A file of the API playground",
        ok_body=str,
        ok_media_type="*/*",
        errors=(NotFound,),
        tag="Service",
    ),
}


def openapi_document(request: Request) -> Response:
    """The document, with this API's own base URL as its server."""
    return Response.json(200, document(request.base_url))


def document(base_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI document; `servers` is left out without a base URL (docs/openapi.json,
    which is the same for every deployment)."""
    doc: dict[str, Any] = json.loads(_document_text())
    if base_url:
        doc["servers"] = [{"url": base_url.rstrip("/")}]
    return doc


def document_text() -> str:
    """docs/openapi.json's exact text."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


@cache
def _document_text() -> str:
    return json.dumps(_build())


class _Schemas(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        # Pydantic titles each field after its name ("Tag Mode"): noise in a document.
        return False


def _build() -> dict[str, Any]:
    missing = [f"{r.method} {r.path}" for r in ROUTES if (r.method, r.path) not in OPERATIONS]
    extra = [f"{m} {p}" for m, p in OPERATIONS if not any(_is(r, m, p) for r in ROUTES)]
    if missing or extra:
        raise LookupError(f"routes without an operation: {missing}; without a route: {extra}")
    types = _types()
    refs, definitions = TypeAdapter.json_schemas(
        [(key, mode, TypeAdapter(tp)) for key, (mode, tp) in types.items()],
        ref_template=_REF,
        schema_generator=_Schemas,
    )
    schema = {key: refs[(key, mode)] for key, (mode, _) in types.items()}
    components = dict(definitions.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        operation = OPERATIONS[(route.method, route.path)]
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(
            route, operation, schema, components
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "imgpro",
            "version": __version__,
            "summary": "Self-hosted image hosting API, compatible with the img.pro API v1.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [{"name": "Media"}, {"name": "Resumable uploads"}, {"name": "Service"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token: `Authorization: Bearer <token>`.",
                }
            },
            "headers": _HEADERS,
        },
    }


def _is(route: Route, method: str, path: str) -> bool:
    return route.method == method and route.path == path


def _types() -> dict[str, tuple[Literal["validation", "serialization"], Any]]:
    """Every type the document names, keyed by a unique name, with the JSON Schema mode:
    what a client may send (validation) or what the API sends (serialization)."""
    types: dict[str, tuple[Literal["validation", "serialization"], Any]] = {
        "Error": ("serialization", api_models.Error)
    }
    for operation in OPERATIONS.values():
        if operation.body is not None:
            types[_key(operation.body)] = ("validation", operation.body)
        if operation.ok_body is not None:
            types[_key(operation.ok_body)] = ("serialization", operation.ok_body)
    return types


def _key(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


_RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
_HEADERS: dict[str, Any] = {
    "X-RateLimit-Limit": {
        "description": "Requests the token may make in the window that binds first.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in that window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "Unix time that window ends.",
        "schema": {"type": "integer"},
    },
    "Retry-After": {
        "description": "Seconds until the window that refused the request ends.",
        "schema": {"type": "integer"},
    },
    "WWW-Authenticate": {"schema": {"type": "string"}},
    "Location": {"description": "Where the image is.", "schema": {"type": "string"}},
}


def _operation(
    route: Route, operation: Operation, schema: Mapping[str, Any], components: dict[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": _operation_id(route),
        "summary": operation.summary,
        "tags": [operation.tag],
    }
    if operation.description:
        out["description"] = operation.description
    if operation.auth == "none":
        out["security"] = []
    elif operation.auth == "optional":
        out["security"] = [{SECURITY_SCHEME: []}, {}]
    else:
        out["security"] = [{SECURITY_SCHEME: []}]
        out["description"] = (
            out.get("description", "") + f"\n\nNeeds a token with the `{operation.auth}` ability."
        ).strip()
    parameters = _path_parameters(route) + _query_parameters(operation, components)
    if operation.idempotent:
        parameters.append(
            {
                "name": IDEMPOTENCY_KEY,
                "in": "header",
                "required": False,
                "description": (
                    "Retry-safe creation: a retry with the same key and body within 24 hours"
                    " gets the first response instead of a second media."
                ),
                "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
            }
        )
    if parameters:
        out["parameters"] = parameters
    if operation.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {operation.body_media_type: {"schema": schema[_key(operation.body)]}},
        }
    out["responses"] = _responses(route, operation, schema)
    return out


def _operation_id(route: Route) -> str:
    names = {
        "service_info": "getServiceInfo",
        "upload": "uploadMedia",
        "upload_direct": "startDirectUpload",
        "import_url": "importMedia",
        "list_media": "listMedia",
        "batch_update": "updateMediaBatch",
        "batch_delete": "deleteMediaBatch",
        "get_media": "getMedia",
        "update_media": "updateMedia",
        "delete_media": "deleteMedia",
        "share": "openShareLink",
        "openapi": "getOpenApiDocument",
        "multipart_create": "startUpload",
        "multipart_list_parts": "listUploadParts",
        "multipart_abort": "abortUpload",
        "multipart_sign_parts": "signUploadParts",
        "multipart_sign_part": "signUploadPart",
        "multipart_complete": "completeUpload",
    }
    if route.function == "playground":
        return "getPlaygroundAsset" if "{asset}" in route.path else "getPlayground"
    return names[route.function]


def _link(target: str) -> dict[str, Any]:
    """The parameters a link passes from a created media or upload to `target`."""
    if target in _UPLOAD_LINKS.values():
        parameters: dict[str, str] = {
            "path.uploadId": "$response.body#/uploadId",
            "query.key": "$response.body#/key",
        }
        if target == "signUploadPart":
            parameters["path.partNumber"] = "1"
        return {"parameters": parameters, "description": "The upload just opened."}
    return {
        "parameters": {"uid": "$response.body#/id"},
        "description": "The media this response describes.",
    }


def _path_parameters(route: Route) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    for part in route.path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            parameter: dict[str, Any] = {"name": name, "in": "path", "required": True}
            if name == "uid":
                parameter["description"] = "The media's id."
                parameter["schema"] = {"type": "string", "pattern": f"^{UID_PATTERN}$"}
            elif name == "partNumber":
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 10_000}
            else:
                parameter["schema"] = {"type": "string"}
            parameters.append(parameter)
    return parameters


def _query_parameters(operation: Operation, components: dict[str, Any]) -> list[dict[str, Any]]:
    if operation.query is None:
        return []
    query = TypeAdapter(operation.query).json_schema(
        ref_template=_REF, schema_generator=_Schemas, mode="validation"
    )
    required = set(query.get("required", ()))
    parameters = []
    for name, prop in query["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _responses(route: Route, operation: Operation, schema: Mapping[str, Any]) -> dict[str, Any]:
    charged = operation.auth != "none"
    rate_headers = {name: {"$ref": f"#/components/headers/{name}"} for name in _RATE_HEADERS}
    ok: dict[str, Any] = {"description": _STATUS_TEXT[operation.ok]}
    if operation.ok_body is not None:
        ok["content"] = {operation.ok_media_type: {"schema": schema[_key(operation.ok_body)]}}
    headers: dict[str, Any] = dict(rate_headers) if charged else {}
    if operation.ok == 302:
        headers["Location"] = {"$ref": "#/components/headers/Location", "required": True}
    if headers:
        ok["headers"] = headers
    if operation.links:
        ok["links"] = {
            name: {"operationId": target, **_link(target)}
            for name, target in operation.links.items()
        }
    responses: dict[str, Any] = {str(operation.ok): ok}
    errors = list(operation.errors)
    if charged:
        errors += _TOKEN_ERRORS
    if route.method in ("POST", "PATCH") and operation.body is not None:
        errors.append(BadRequest)
    by_status: dict[int, list[type[ApiError]]] = {}
    for error in errors:
        by_status.setdefault(error.status, []).append(error)
    error_ref = schema["Error"]
    for status in sorted(by_status):
        codes = sorted({e.code for e in by_status[status]})
        response: dict[str, Any] = {
            "description": f"{_STATUS_TEXT[status]}: `code` is "
            + " or ".join(f"`{code}`" for code in codes),
            "content": {JSON: {"schema": error_ref}},
        }
        error_headers: dict[str, Any] = dict(rate_headers) if charged else {}
        if status == 429:
            error_headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        if status == 401:
            error_headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWW-Authenticate"}
        if error_headers:
            response["headers"] = error_headers
        responses[str(status)] = response
    return responses


_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No content",
    302: "Found",
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    422: "Unprocessable",
    429: "Too many requests",
    502: "Bad gateway",
    504: "Gateway timeout",
}


if __name__ == "__main__":  # `make openapi`: python -m imgpro.openapi docs/openapi.json
    import sys
    from pathlib import Path

    Path(sys.argv[1]).write_text(document_text(), encoding="utf-8")
