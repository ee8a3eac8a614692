"""The function handlers, loaded from their files and invoked as Lambda would.

Each `functions/<name>/handler.py`, a route's or a worker's, is imported once, on its
first invocation (a cold start), under a module name of its own, so two handlers never
share module state by accident of a common file name.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from imgpro.local.events import ACCOUNT_ID

# API Gateway gives up on an integration after 29 s; a handler that plans its work by
# the remaining time should see that budget, not Lambda's own (longer) timeout.
INTEGRATION_TIMEOUT_MS = 29_000
REGION = "us-east-1"
MEMORY_LIMIT_MB = 1024
# What infra/workers.py gives a worker: no client waits on it, and it decodes large files.
WORKER_TIMEOUT_MS = 300_000
WORKER_MEMORY_MB = 3008

Handler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_version = "$LATEST"
    identity = None
    client_context = None

    def __init__(
        self,
        function_name: str,
        *,
        aws_request_id: str,
        timeout_ms: int = INTEGRATION_TIMEOUT_MS,
        memory_limit_in_mb: int = MEMORY_LIMIT_MB,
    ) -> None:
        self.function_name = function_name
        self.aws_request_id = aws_request_id
        self.memory_limit_in_mb = memory_limit_in_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]local", time.gmtime())
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class HandlerNotFound(FileNotFoundError):
    """A route or worker names a function folder without a handler file."""


class Functions:
    """The handlers under one `functions/` directory, each loaded on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()

    def handler(self, function: str) -> Handler:
        loaded = self._handlers.get(function)
        if loaded is not None:
            return loaded
        with self._lock:
            if function not in self._handlers:
                self._handlers[function] = _load(self.directory / function / "handler.py")
            return self._handlers[function]

    def invoke(
        self,
        function: str,
        event: dict[str, Any],
        *,
        timeout_ms: int = INTEGRATION_TIMEOUT_MS,
        memory_limit_in_mb: int = MEMORY_LIMIT_MB,
    ) -> Any:
        """Run the handler in folder `function` on `event`; a route's limits by default."""
        handler = self.handler(function)
        context = LambdaContext(
            f"imgpro-local-{function}",
            aws_request_id=str(uuid.uuid4()),
            timeout_ms=timeout_ms,
            memory_limit_in_mb=memory_limit_in_mb,
        )
        return handler(event, context)

    def invoke_worker(self, function: str, event: dict[str, Any]) -> Any:
        """Run a worker's handler (`imgpro.routes.WORKERS`) with a worker's limits."""
        return self.invoke(
            function, event, timeout_ms=WORKER_TIMEOUT_MS, memory_limit_in_mb=WORKER_MEMORY_MB
        )


def _load(path: Path) -> Handler:
    if not path.is_file():
        raise HandlerNotFound(f"no handler file at {path}")
    name = f"_imgpro_function_{path.parent.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    # Registered before running so dataclasses and pickling in the handler can find it;
    # removed again if the import fails, so the next request retries the cold start.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return _handler_of(module, path)


def _handler_of(module: ModuleType, path: Path) -> Handler:
    handler: object = getattr(module, "handler", None)
    if not callable(handler):
        raise AttributeError(f"{path} has no callable `handler(event, context)`")
    return handler
