"""moto in server mode, one request at a time, with the S3 behaviour moto lacks.

moto's backends are not thread-safe: TransactWriteItems deep-copies the whole table
while another request thread inserts into it ("dictionary changed size during
iteration"). DynamoDB itself serializes nothing for us to rely on, but it never
crashes either, so the local stack serializes requests to moto. Concurrency
between our own handlers stays real; only the emulated AWS takes turns.

Around each request, `imgpro.local.s3_events` refuses presigned POSTs that S3 would
refuse, and turns the objects a request creates into worker invocations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from imgpro.local import moto_json
from imgpro.local.s3_events import (
    ObjectWrite,
    S3Notifications,
    StoredObject,
    WorkerEvent,
)
from imgpro.local.s3_post import S3Error

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
RequestHook = Callable[[dict[str, Any]], None]
"""Called with each request's WSGI environ once moto has answered it."""


class OneAtATime:
    """A WSGI app around moto's: requests take turns, and S3 writes notify workers."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        notifications: S3Notifications | None = None,
        lock: threading.Lock | None = None,
        on_request: RequestHook | None = None,
    ) -> None:
        self._app = app
        self._notifications = notifications
        self.lock = lock or threading.Lock()
        self._on_request = on_request

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        # Outside the lock: a slow client's 100 MB form must not stall everyone else.
        write = self._notifications.inspect(environ) if self._notifications else None
        if isinstance(write, S3Error):
            start_response(f"{write.status} {HTTPStatus(write.status).phrase}", write.headers)
            return [write.body]
        answered: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            answered.append((status, headers))
            return start_response(status, headers, *exc_info)

        with self.lock:
            # Drain the response inside the lock: moto builds bodies lazily.
            body = list(self._app(environ, capture))
            events = self._created(write, answered)
        # Queued only once moto is free again: the workers' first calls are to moto.
        if events and self._notifications is not None:
            self._notifications.dispatch(events)
        if self._on_request is not None:
            self._on_request(environ)  # answered: --data-dir saves what changed
        return body

    def _created(
        self,
        write: ObjectWrite | None,
        answered: list[tuple[str, list[tuple[str, str]]]],
    ) -> list[WorkerEvent]:
        if write is None or self._notifications is None or not answered:
            return []
        status, headers = answered[-1]
        return self._notifications.created(
            write,
            status=int(status.split(" ", 1)[0]),
            response_headers={name.lower(): value for name, value in headers},
        )


def stored_object(bucket: str, key: str) -> StoredObject | None:
    """The object moto holds at `bucket`/`key`, read from its S3 backend directly.

    Only safe while moto is locked (its backends are not thread-safe). Reaching into
    moto beats asking it over HTTP: a HEAD from inside the lock would wait for itself.
    """
    from moto.s3.models import FakeKey, s3_backends

    located = s3_backends.bucket_accounts.get(bucket)
    if located is None:
        return None
    partition, account_id = located
    found = s3_backends[account_id][partition].buckets.get(bucket)
    stored = found.keys.get(key) if found is not None else None
    if not isinstance(stored, FakeKey):  # missing, or a delete marker
        return None
    assert found is not None  # the key was found in it
    return StoredObject(
        size=stored.size,
        etag=stored.etag.strip('"'),
        version_id=stored.version_id if found.is_versioned else None,
    )


def expired_items(
    table: str,
    attribute: str,
    now: int,
    *,
    region: str,
    keys: Sequence[str],
) -> list[dict[str, Any]] | None:
    """What a TTL pass's Scan would find, read from moto's DynamoDB backend directly: the
    `keys` and `attribute` of each item of `table` whose `attribute` is a Number not after
    `now`, in DynamoDB JSON. None when moto's default account has no such table (then ask
    it over HTTP). Only safe while moto is locked, like `stored_object`.

    A Scan with a filter costs moto about 0.15 ms an item (it copies and serializes each
    one) and holds the lock meanwhile: every second, 45 ms at 150 media. This is a loop
    over the items, and the whole table never leaves moto."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    found = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].tables.get(table)
    if found is None:
        return None
    expired = []
    for stored in found.items.values():
        # {range key: item} under each hash key, or the item itself without a range key.
        for item in stored.values() if isinstance(stored, dict) else (stored,):
            ttl = item.attrs.get(attribute)
            if ttl is None or ttl.type != "N" or not _not_after(ttl.value, now):
                continue
            wanted = (*keys, attribute)
            expired.append({name: item.attrs[name].to_json() for name in wanted})
    return expired


def _not_after(number: object, now: int) -> bool:
    try:
        return Decimal(str(number)) <= now
    except ArithmeticError:  # decimal.InvalidOperation: moto stored something odd
        return False


class SerializedMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer whose backends see one request at a time."""

    def __init__(
        self,
        *,
        notifications: S3Notifications | None = None,
        on_request: RequestHook | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._notifications = notifications
        self._on_request = on_request
        self.lock = threading.Lock()
        """Held while moto answers a request; hold it to read moto's backends directly."""

    def expired_items(
        self, table: str, attribute: str, now: int, *, region: str, keys: Sequence[str]
    ) -> list[dict[str, Any]] | None:
        """`expired_items`, under the lock."""
        with self.lock:
            return expired_items(table, attribute, now, region=region, keys=keys)

    def _server_entry(self) -> None:
        # moto's generic serializer is most of a DynamoDB Query's time (`moto_json`).
        moto_json.install()
        app = OneAtATime(
            DomainDispatcherApplication(create_backend_app),
            notifications=self._notifications,
            lock=self.lock,
            on_request=self._on_request,
        )
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()
