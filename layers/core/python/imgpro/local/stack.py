"""The whole local stack in one process: moto, the handlers' environment, the HTTP server.

moto runs as a real server on loopback rather than in-process, so a second process
(a test, the AWS CLI, a notebook) sees the very S3 and DynamoDB state the handlers do.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from imgpro import config, observability

if TYPE_CHECKING:
    from imgpro.local.aws import SerializedMotoServer
    from imgpro.local.lambdas import Functions
    from imgpro.local.s3_events import S3Notifications
    from imgpro.local.server import LocalHttpServer
    from imgpro.local.ttl import TtlEmulator
    from imgpro.teams import IssuedToken

TABLE = "imgpro-local"
BUCKET = "imgpro-local"
REGION = "us-east-1"
CREDENTIAL = "local"
DEFAULT_TEAM = "local"
DEFAULT_RATE_LIMIT = "100/1000"
CDN_PATH = "/cdn"
LOOPBACK = "127.0.0.1"
SIGNING_KEY_ID = "K2LOCALIMGPRO"
"""The local CDN's `Key-Pair-Id`: shaped like a CloudFront public key id, plainly local."""
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
# Variables that would point boto3 elsewhere than moto if inherited from the shell.
_INHERITED_AWS = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


@dataclass(frozen=True)
class TeamSpec:
    team_id: str
    plan: str
    public_default: bool = False


@dataclass(frozen=True)
class TokenSpec:
    team_id: str
    abilities: tuple[str, ...]
    secret: str | None = None
    """None: a random secret, shown once at start-up."""

    @property
    def label(self) -> str:
        return f"{self.team_id}:{','.join(self.abilities)}"


@dataclass(frozen=True)
class StackOptions:
    functions_dir: Path
    host: str = LOOPBACK
    port: int = 8787
    aws_port: int = 0
    public_host: str | None = None
    teams: tuple[TeamSpec, ...] = ()
    tokens: tuple[TokenSpec, ...] = ()
    rate_limit: str = DEFAULT_RATE_LIMIT
    import_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class SigningKeys:
    """The local stand-in for the CloudFront key group: an RSA-2048 pair made at each start,
    so no private key is committed, shared between machines, or valid after a restart."""

    key_id: str
    private_pem: str = field(repr=False)
    public_pem: str

    @classmethod
    def generate(cls, key_id: str = SIGNING_KEY_ID) -> SigningKeys:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        # RSA-2048: the key pair CloudFront documents for signed URLs.
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(key_id, private_pem.decode("ascii"), public_pem.decode("ascii"))


class SeedError(ValueError):
    """A --team or --token value the domain refuses (caught as a usage error)."""


def base_url(*, host: str, port: int, public_host: str | None = None) -> str:
    """The URL clients use: the public host if given, loopback for a wildcard bind."""
    shown = public_host or (LOOPBACK if host in _WILDCARD_HOSTS else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def environment(
    *,
    base_url: str,
    aws_endpoint: str,
    rate_limit: str,
    import_cidrs: tuple[str, ...],
    signing: SigningKeys | None = None,
) -> dict[str, str]:
    """Every variable the handlers read, pointed at moto and at this server.

    `signing` None: a fresh key pair. The private key is inline because there is no SSM
    parameter to read it from; the public key lets the local CDN verify as CloudFront does.
    """
    keys = signing or SigningKeys.generate()
    return {
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_ACCESS_KEY_ID": CREDENTIAL,
        "AWS_SECRET_ACCESS_KEY": CREDENTIAL,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        config.TABLE_NAME: TABLE,
        config.BUCKET_NAME: BUCKET,
        config.CDN_BASE_URL: base_url + CDN_PATH,
        config.SHARE_BASE_URL: base_url,
        config.RATE_LIMIT: rate_limit,
        config.IMPORT_ALLOW_CIDRS: ",".join(import_cidrs),
        config.SIGNING_KEY_ID: keys.key_id,
        config.SIGNING_PRIVATE_KEY: keys.private_pem,
        config.SIGNING_PUBLIC_KEY: keys.public_pem,
        # No JSON log lines or EMF from the handlers: the server prints one line a request.
        config.LOG_FORMAT: observability.PLAIN,
    }


class LocalStack:
    """Start with `start()`, stop with `stop()` (or use it as a context manager)."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.base_url = ""
        self.aws_endpoint = ""
        self.tokens: list[IssuedToken] = []
        self.signing_keys: SigningKeys | None = None
        self._moto: SerializedMotoServer | None = None
        self._functions: Functions | None = None
        self._notifications: S3Notifications | None = None
        self._http: LocalHttpServer | None = None
        self._serving: threading.Thread | None = None
        self._ttl: TtlEmulator | None = None
        self._saved_environment: dict[str, str | None] = {}

    def start(self) -> None:
        try:
            self._start_moto()
            self._bind_http()
            self._apply_environment()
            self._provision()
            self.tokens = self._seed()
            self._expire_items()
            self._serve()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._ttl is not None:
            # First: a pass under way calls moto and the worker.
            self._ttl.stop()
            self._ttl = None
        if self._http is not None:
            if self._serving is not None:
                self._http.shutdown()
                self._serving = None
            self._http.server_close()
            self._http = None
        if self._notifications is not None:
            # Before moto stops: a worker still running needs it to finish cleanly.
            self._notifications.shutdown()
            self._notifications = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self._restore_environment()

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _start_moto(self) -> None:
        from imgpro.local.aws import SerializedMotoServer, stored_object
        from imgpro.local.lambdas import Functions
        from imgpro.local.s3_events import S3Notifications
        from imgpro.routes import WORKERS

        if self.options.aws_port:
            # The moto server binds in its own thread and would wait forever for a
            # port it cannot get; finding out here turns that into a clear error.
            _check_free(LOOPBACK, self.options.aws_port)
        # moto's werkzeug server logs every request; the handlers' own logs matter more.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # One set of loaded handlers for the routes and the workers, as one process
        # serves both; S3 writes to the bucket reach the workers through moto.
        self._functions = Functions(self.options.functions_dir)
        self._notifications = S3Notifications(
            bucket=BUCKET,
            workers=WORKERS,
            invoke=self._functions.invoke_worker,
            lookup=stored_object,
        )
        self._moto = SerializedMotoServer(
            ip_address=LOOPBACK,
            port=self.options.aws_port,
            verbose=False,
            notifications=self._notifications,
        )
        self._moto.start()
        _, port = self._moto.get_host_and_port()
        self.aws_endpoint = f"http://{LOOPBACK}:{port}"

    def _bind_http(self) -> None:
        from imgpro.local.gateway import Gateway
        from imgpro.local.server import LocalHttpServer

        assert self._functions is not None
        gateway = Gateway(self._functions)
        # Bound before the environment is set: with --port 0 the CDN base URL
        # needs the port the system picked.
        address = (self.options.host, self.options.port)
        try:
            self._http = LocalHttpServer(address, gateway)
        except OSError as error:
            raise OSError(f"cannot listen on {address[0]}:{address[1]}: {error.strerror}") from None
        self.base_url = base_url(
            host=self.options.host, port=self._http.port, public_host=self.options.public_host
        )

    def _apply_environment(self) -> None:
        from imgpro import clients

        # Kept on the stack so a test (or the CDN) can reach the public half it verifies with.
        self.signing_keys = SigningKeys.generate()
        wanted = environment(
            base_url=self.base_url,
            aws_endpoint=self.aws_endpoint,
            rate_limit=self.options.rate_limit,
            import_cidrs=self.options.import_cidrs,
            signing=self.signing_keys,
        )
        for name in (*wanted, *_INHERITED_AWS):
            self._saved_environment.setdefault(name, os.environ.get(name))
        for name in _INHERITED_AWS:
            os.environ.pop(name, None)
        os.environ.update(wanted)
        clients.reset()

    def _restore_environment(self) -> None:
        if not self._saved_environment:
            return
        from imgpro import clients

        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment = {}
        clients.reset()

    def _provision(self) -> None:
        from imgpro import clients, provision

        provision.ensure_table(TABLE)
        provision.ensure_bucket(BUCKET)
        clients.bind_table()

    def _seed(self) -> list[IssuedToken]:
        from imgpro import teams

        for team in self.options.teams:
            try:
                teams.put_team(team.team_id, plan=team.plan, public_default=team.public_default)
            except ValueError as error:
                raise SeedError(f"--team {team.team_id}: {error}") from None
        specs = self.options.tokens or (TokenSpec(DEFAULT_TEAM, ("*",)),)
        issued: list[IssuedToken] = []
        for spec in specs:
            try:
                teams.ensure_team(spec.team_id)
                token = teams.issue_token(
                    spec.team_id, abilities=spec.abilities, secret=spec.secret
                )
            except ValueError as error:
                raise SeedError(f"--token {spec.label}: {error}") from None
            issued.append(token)
        return issued

    def _expire_items(self) -> None:
        """DynamoDB's TTL process and the expiry worker's stream trigger, which moto lacks."""
        from imgpro.expiry_rules import WORKER_FUNCTION
        from imgpro.local.ttl import TtlEmulator

        functions = self._functions
        assert functions is not None
        self._ttl = TtlEmulator(
            table=TABLE, invoke=lambda event: functions.invoke_worker(WORKER_FUNCTION, event)
        )
        self._ttl.start()

    def _serve(self) -> None:
        assert self._http is not None
        self._serving = threading.Thread(
            target=self._http.serve_forever, name="imgpro-local-http", daemon=True
        )
        self._serving.start()


def _check_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(f"cannot use {host}:{port} for moto: {error.strerror}") from None
