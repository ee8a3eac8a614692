"""moto in server mode, one request at a time.

moto's backends are not thread-safe: TransactWriteItems deep-copies the whole table
while another request thread inserts into it ("dictionary changed size during
iteration"). DynamoDB itself serializes nothing for us to rely on, but it never
crashes either, so the local stack serializes requests to moto. Concurrency
between our own handlers stays real; only the emulated AWS takes turns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _OneAtATime:
    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            # Drain the response inside the lock: moto builds bodies lazily.
            return list(self._app(environ, start_response))


class SerializedMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer whose backends see one request at a time."""

    def _server_entry(self) -> None:
        app = _OneAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()
