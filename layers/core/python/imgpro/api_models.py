"""The bodies the API takes and returns, as types: the single description of the wire.

`imgpro.views` builds its JSON as these types (mypy checks every key and value), and
`imgpro.openapi` turns them into the OpenAPI document's schemas, so the document cannot
describe a field the code does not send. Request types describe what the parsers in
`imgpro.validation` accept, constraints included (the limits are imported from there).

Pydantic reads the `Field` annotations to make JSON Schema. It is imported here, and
this module is imported only by the OpenAPI function and by the type checker: views
import these names under `TYPE_CHECKING`, so no API handler pays for it at cold start.
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, Required

from pydantic import ConfigDict, Field, with_config

# Pydantic reads TypedDicts of typing_extensions only, before Python 3.12.
from typing_extensions import TypedDict

from imgpro.validation import (
    MAX_DESCRIPTION_LENGTH,
    MAX_FILESIZE,
    MAX_IDS,
    MAX_LIMIT,
    MAX_NAME_LENGTH,
    MAX_OFFSET,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MAX_URL_LENGTH,
    TTL_MAX_SECONDS,
    TTL_MIN_SECONDS,
)

# --- response bodies ---------------------------------------------------------------------

_CLOSED = ConfigDict(extra="forbid")
"""Response objects list every key they may carry: the document says "no other keys", so
a contract test catches a key the code sends but the document does not describe."""

Uid = Annotated[str, Field(description="The media's unique id (UID).", examples=["abc123"])]
Status = Literal["processing", "failed"]
SizeName = Literal["s", "m", "l", "xl", "xxl"]


@with_config(_CLOSED)
class Variant(TypedDict):
    """A size variant the CDN has made."""

    src: Annotated[str, Field(description="CDN URL of the variant.")]
    width: Annotated[int, Field(ge=1)]
    height: Annotated[int, Field(ge=1)]
    filesize: Annotated[int, Field(ge=0, description="Bytes.")]


@with_config(_CLOSED)
class Placeholder(TypedDict):
    """What to paint before the image arrives, computed once when the image was stored
    (not in the seed)."""

    thumbhash: Annotated[
        str,
        Field(
            description="The ThumbHash (https://evanw.github.io/thumbhash/) bytes, base64.",
            examples=["1QcSHQRnh493V4dIh4eXh1h4kJUI"],
        ),
    ]
    blurhash: Annotated[
        str,
        Field(
            description="The BlurHash (https://blurha.sh), 4x3 components.",
            examples=["LEHV6nWB2yk8pyo0adR*.7kCMdnj"],
        ),
    ]
    color: Annotated[
        str,
        Field(
            pattern="^#[0-9a-f]{6}$",
            description="The image's average colour (alpha-weighted, sRGB), `#rrggbb`.",
            examples=["#8a7f6b"],
        ),
    ]


@with_config(_CLOSED)
class MediaObject(TypedDict, total=False):
    """A media item. Fields are omitted, never null: `url` only when public; `src`,
    `width`, `height`, `filesize` only when ready; `status` only when not ready,
    `failure_reason` only when it is failed;
    `description`, `tags` only when set; `expires_at` only for ephemeral media; `sizes`
    only for the variants the CDN has made; `placeholder` only when ready, not for SVG."""

    id: Required[Uid]
    name: Required[Annotated[str, Field(description="The file name.")]]
    url: Annotated[str, Field(description="Public sharing link (only when public).")]
    src: Annotated[str, Field(description="CDN URL of the image (only when ready).")]
    width: Annotated[int, Field(ge=1, description="Pixels (only when ready).")]
    height: Annotated[int, Field(ge=1, description="Pixels (only when ready).")]
    filesize: Annotated[int, Field(ge=0, description="Bytes (only when ready).")]
    status: Annotated[Status, Field(description="Only while not ready.")]
    failure_reason: Annotated[
        str,
        Field(
            description=("Why processing failed (only while `status` is failed; not in the seed)."),
            examples=["The file is not an image in a format we accept"],
        ),
    ]
    description: str
    tags: list[str]
    expires_at: Annotated[
        int, Field(description="Unix time the media expires at (only for ephemeral media).")
    ]
    sizes: Annotated[
        dict[SizeName, Variant],
        Field(description="The size variants the CDN has made so far, by size name."),
    ]
    placeholder: Annotated[
        Placeholder,
        Field(
            description=(
                "ThumbHash, BlurHash and average colour to show while the image loads "
                "(only when ready, and not for SVG; not in the seed)."
            )
        ),
    ]


@with_config(_CLOSED)
class PresignedPost(TypedDict):
    """Where to send the file of a large upload: an HTML form POST to S3."""

    url: Annotated[str, Field(description="POST the form here.")]
    fields: Annotated[
        dict[str, str],
        Field(description="Send these form fields first, in this order, then `file` last."),
    ]
    expires_at: Annotated[int, Field(description="Unix time the form stops working.")]


@with_config(_CLOSED)
class DirectUpload(MediaObject):
    """The announced media (status `processing`) and the form to send its file with."""

    upload: Required[PresignedPost]


@with_config(_CLOSED)
class Page(TypedDict):
    data: list[MediaObject]
    next_cursor: NotRequired[
        Annotated[str, Field(description="Pass as `cursor` for the next page (when any).")]
    ]
    has_more: bool


@with_config(_CLOSED)
class BatchUpdated(TypedDict):
    updated: Annotated[int, Field(ge=0)]
    media: list[MediaObject]


@with_config(_CLOSED)
class BatchDeletedIds(TypedDict):
    deleted: list[str]
    not_found: list[str]


@with_config(_CLOSED)
class BatchDeleted(TypedDict):
    deleted: Annotated[int, Field(ge=0)]
    not_found: Annotated[int, Field(ge=0)]
    ids: BatchDeletedIds


@with_config(_CLOSED)
class Endpoint(TypedDict):
    method: str
    path: str


@with_config(_CLOSED)
class ServiceInfo(TypedDict):
    name: str
    description: str
    version: str
    api_version: str
    endpoints: list[Endpoint]


@with_config(_CLOSED)
class Error(TypedDict):
    """Every error. `errors` (validation errors only) maps each field to its messages."""

    error: Annotated[str, Field(description="What went wrong, for a person.")]
    code: Annotated[str, Field(description="What went wrong, for a program.")]
    errors: NotRequired[dict[str, list[str]]]


# --- request bodies and parameters -------------------------------------------------------

Tags = Annotated[
    str | Annotated[list[Annotated[str, Field(max_length=MAX_TAG_LENGTH)]], Field()],
    Field(
        description=(
            f"Comma-separated (or an array): at most {MAX_TAGS} tags of at most"
            f" {MAX_TAG_LENGTH} characters; matched case-insensitively."
        ),
        examples=["vacation,beach"],
    ),
]
Ttl = Annotated[
    str | Annotated[int, Field(ge=TTL_MIN_SECONDS, le=TTL_MAX_SECONDS)],
    Field(
        description=(
            "Time to live: `5m`, `2h`, `7d`, `2w` or seconds, from 5 minutes to 90 days."
            " The media is deleted when it passes."
        ),
        examples=["24h"],
    ),
]
Public = Annotated[
    bool | Literal[0, 1] | str,
    Field(
        description=(
            'Public or private: `"1"`/`"0"`, true/false, 1/0. Defaults to the team\'s setting.'
        ),
        examples=["1"],
    ),
]
Description = Annotated[
    str, Field(max_length=MAX_DESCRIPTION_LENGTH, examples=["My awesome photo"])
]
Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description="A file name, no slashes.",
        examples=["photo.jpg"],
    ),
]


class UploadForm(TypedDict, total=False):
    """`multipart/form-data` of POST /v1/upload. An empty field is as good as none."""

    file: Required[Annotated[bytes, Field(description="The image file.")]]
    description: Annotated[
        str, Field(max_length=MAX_DESCRIPTION_LENGTH, examples=["My awesome photo"])
    ]
    tags: Annotated[
        str, Field(description="Comma-separated tags.", examples=["vacation,beach,sunset"])
    ]
    ttl: Annotated[str, Field(description="`5m`, `2h`, `7d`, `2w` or seconds.", examples=["7d"])]
    public: Annotated[str, Field(description='"1" or "0".', examples=["1"])]


class DirectUploadRequest(TypedDict, total=False):
    name: Required[Name]
    filesize: Required[
        Annotated[
            int,
            Field(ge=1, le=MAX_FILESIZE, description="Exact size of the file.", examples=[245670]),
        ]
    ]
    description: Description
    tags: Tags
    ttl: Ttl
    public: Public


class ImportRequest(TypedDict, total=False):
    url: Required[
        Annotated[
            str,
            Field(
                max_length=MAX_URL_LENGTH,
                pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://",
                description="An http(s) URL of an image on the public internet.",
                examples=["https://example.com/photo.jpg"],
            ),
        ]
    ]
    description: Description
    tags: Tags
    ttl: Ttl
    public: Public


class MediaUpdate(TypedDict, total=False):
    """Fields to change; absent fields stay. A null or empty `description` or `tags`
    clears it."""

    name: Name | None
    description: Description | None
    tags: Tags | None
    tag_mode: Annotated[
        Literal["replace", "add", "remove"],
        Field(description="How `tags` applies: replace (default), add or remove."),
    ]
    public: Public | None


class ListQuery(TypedDict, total=False):
    """Query of GET /v1/media."""

    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Items per page (default 50).")]
    cursor: Annotated[str, Field(description="`next_cursor` of the previous page.")]
    offset: Annotated[
        int,
        Field(ge=0, le=MAX_OFFSET, description="Items to skip (deprecated: use cursor)."),
    ]
    ids: Annotated[
        str, Field(description=f"Comma-separated ids, at most {MAX_IDS}: just these items.")
    ]
    tags: Annotated[str, Field(description="Comma-separated tags to filter by.")]
    tag_mode: Annotated[
        Literal["any", "all"],
        Field(description="Whether an item needs any (default) or all of `tags`."),
    ]


class IdsQuery(TypedDict):
    """Query of the batch routes."""

    ids: Annotated[
        str, Field(description=f"Comma-separated ids, at most {MAX_IDS}.", examples=["a1,b2"])
    ]


# --- resumable uploads (Companion's S3 multipart shapes) ---------------------------------


class UploadMetadata(TypedDict, total=False):
    """Uppy sends a file's meta fields here; these are the ones used."""

    description: Description
    tags: Tags
    ttl: Ttl
    public: Public
    size: Annotated[
        int | str,
        Field(description="The file's bytes, reserved from the quota (default: 100 MB)."),
    ]


class MultipartStart(TypedDict, total=False):
    filename: Required[Name]
    type: Annotated[str, Field(description="The file's media type.", examples=["image/jpeg"])]
    metadata: UploadMetadata
    size: Annotated[int, Field(ge=1, le=MAX_FILESIZE, description="As `metadata.size`.")]


@with_config(_CLOSED)
class MultipartStarted(TypedDict):
    uploadId: Annotated[str, Field(description="S3's id of the multipart upload.")]
    key: Annotated[str, Field(description="Pass as `key` to the upload's other routes.")]
    media: MediaObject


@with_config(_CLOSED)
class PartUrl(TypedDict):
    url: Annotated[str, Field(description="PUT the part's bytes here; S3 answers its ETag.")]
    expires: Annotated[int, Field(description="Seconds the URL works for.")]


@with_config(_CLOSED)
class PartUrls(TypedDict):
    presignedUrls: Annotated[dict[str, str], Field(description="A URL per part number.")]
    expires: int


@with_config(_CLOSED)
class UploadedPart(TypedDict):
    PartNumber: int
    Size: int
    ETag: str


class PartToAssemble(TypedDict):
    PartNumber: Annotated[int, Field(ge=1, le=10_000)]
    ETag: str


class MultipartComplete(TypedDict):
    parts: Annotated[list[PartToAssemble], Field(min_length=1)]


@with_config(_CLOSED)
class MultipartCompleted(TypedDict):
    location: Annotated[str, Field(description="The media's URL in this API.")]
    key: str
    media: MediaObject


@with_config(_CLOSED)
class Empty(TypedDict):
    pass


class UploadKeyQuery(TypedDict):
    key: Annotated[str, Field(description="The `key` the upload was opened with.")]


class PartNumbersQuery(TypedDict):
    key: Annotated[str, Field(description="The `key` the upload was opened with.")]
    partNumbers: Annotated[
        str, Field(description="Comma-separated part numbers, at most 100.", examples=["1,2,3"])
    ]
