"""The whole local stack in one process: moto, the handlers' environment, the HTTP server.

moto runs as a real server on loopback rather than in-process, so a second process
(a test, the AWS CLI, a notebook) sees the very S3 and DynamoDB state the handlers do.
Its state lives in memory, or, with a data directory, is also kept on disk between runs
(`imgpro.local.persistence`).

`stop()` takes a few seconds at most, whatever the stack is doing: requests and workers
still running after `STOP_GRACE_SECONDS` are left to their (daemon) threads, or to the
process's exit (`imgpro local` ends the process without waiting for them).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgpro import config, observability
from imgpro.local.data_dir import DataDir, TokenFile, write_atomically
from imgpro.local.persistence import SAVE_INTERVAL_SECONDS, Persistence, Restored

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
STOP_GRACE_SECONDS = 1.0
"""How long `stop()` waits for requests and workers under way before it goes on without them."""
_STEP_SECONDS = 1.0
"""The longest `stop()` waits for one of its background threads (TTL, saving, moto)."""
_POLL_SECONDS = 0.1
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
logger = logging.getLogger("imgpro.local")
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
    data_dir: Path | None = None
    """Keep the state here between runs (None: in memory only, gone when stopped)."""
    token_file: Path | None = None
    """Where the generated token is remembered, when no `tokens` are given (None: nowhere).
    With a data directory, its `token` file whatever this says."""
    save_interval: float = SAVE_INTERVAL_SECONDS
    """With a data directory: the longest a change waits before it is saved."""


@dataclass(frozen=True)
class SigningKeys:
    """The local stand-in for the CloudFront key group: an RSA-2048 pair made at each start,
    so no private key is committed, shared between machines, or valid after a restart;
    except in a data directory, where it is kept so the signed URLs handed out stay valid."""

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

    @classmethod
    def load(cls, private_pem: str, key_id: str = SIGNING_KEY_ID) -> SigningKeys:
        """The pair of a PEM private key (PKCS#8, unencrypted), as `generate` writes it."""
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(key_id, private_pem, public_pem.decode("ascii"))

    @classmethod
    def kept_in(cls, path: Path) -> SigningKeys:
        """The pair whose private key is at `path`, made and written there if absent."""
        try:
            return cls.load(path.read_text(encoding="ascii"))
        except FileNotFoundError:
            pass
        except (ValueError, TypeError):  # not PEM, or a key that needs a password
            logger.warning("%s is not a PEM private key; making a new signing key", path)
        keys = cls.generate()
        write_atomically(path, keys.private_pem.encode("ascii"), private=True)
        return keys


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
        self.restored = Restored()
        """What the start loaded from the data directory (nothing without one)."""
        self.token_file: Path | None = None
        """Where the generated token is remembered; None when it is not (--token given)."""
        self._data: DataDir | None = None
        self._persistence: Persistence | None = None
        self._moto: SerializedMotoServer | None = None
        self._functions: Functions | None = None
        self._notifications: S3Notifications | None = None
        self._http: LocalHttpServer | None = None
        self._serving: threading.Thread | None = None
        self._ttl: TtlEmulator | None = None
        self._saved_environment: dict[str, str | None] = {}

    def start(self) -> None:
        """Raises DataDirError (data directory in use or unreadable), SeedError, OSError."""
        try:
            self._open_data_dir()
            self._start_moto()
            self._bind_http()
            self._apply_environment()
            self._provision()
            self._restore()
            self.tokens = self._seed()
            self._expire_items()
            self._keep_saving()
            self._serve()
        except BaseException:
            self.stop(grace=0)
            raise

    def stop(self, *, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop serving, give requests and workers under way `grace` seconds to finish,
        save the state (with a data directory), and stop moto: within about `grace`
        seconds plus the save, whatever is still running, which is left to its threads."""
        deadline = time.monotonic() + grace
        if self._http is not None:
            self._http.stopping.set()
            if self._serving is not None:
                self._http.shutdown()  # no new connections
                self._serving = None
            self._http.server_close()
        if self._persistence is not None:
            self._persistence.save_soon()  # while the requests under way finish
        # All at once, each in a thread of its own: the TTL pass under way (it calls moto
        # and a worker) and the uploads being processed. Queued uploads are dropped; with
        # a data directory their objects are kept, and processed at the next start.
        stopping = [
            (what, _in_background(step))
            for what, step in (
                ("the TTL pass under way", self._ttl.stop if self._ttl else None),
                (
                    "the uploads being processed",
                    self._notifications.shutdown if self._notifications else None,
                ),
            )
            if step is not None
        ]
        self._ttl = self._notifications = None
        if self._http is not None:
            unfinished = self._http.wait_idle(deadline - time.monotonic())
            if unfinished:
                logger.info("stopping without waiting for %d requests under way", unfinished)
            self._http = None
        for what, thread in stopping:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                logger.info("stopping without waiting for %s", what)
        self._save_last()
        if self._moto is not None:
            _in_background(self._moto.stop).join(_STEP_SECONDS)
            self._moto = None
        if self._data is not None:
            self._data.close()
            self._data = None
        self._restore_environment()

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _open_data_dir(self) -> None:
        if self.options.data_dir is None:
            return
        self._data = DataDir(self.options.data_dir)
        self._data.open()

    def _start_moto(self) -> None:
        from imgpro.local.aws import SerializedMotoServer, stored_object
        from imgpro.local.lambdas import Functions
        from imgpro.local.s3_events import S3Notifications
        from imgpro.routes import WORKERS

        port = self.options.aws_port
        if port:
            # The moto server binds in its own thread and would wait forever for a
            # port it cannot get; finding out here turns that into a clear error.
            _check_free(LOOPBACK, port)
        elif self._data is not None and self._data.aws_port and _is_free(self._data.aws_port):
            # The port of the last run, so presigned upload URLs handed out then still work.
            port = self._data.aws_port
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
            port=port,
            verbose=False,
            notifications=self._notifications,
            on_request=self._moto_answered,
        )
        self._moto.start()
        _, bound = self._moto.get_host_and_port()
        self.aws_endpoint = f"http://{LOOPBACK}:{bound}"

    def _moto_answered(self, environ: dict[str, Any]) -> None:
        if self._persistence is not None:
            self._persistence.note_request(environ)

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
        self.signing_keys = (
            SigningKeys.kept_in(self._data.signing_key)
            if self._data is not None
            else SigningKeys.generate()
        )
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

    def _restore(self) -> None:
        if self._data is None:
            return
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            aws_access_key_id=CREDENTIAL, aws_secret_access_key=CREDENTIAL, region_name=REGION
        )
        moto = self._moto
        assert moto is not None
        persistence = Persistence(
            self._data,
            table=TABLE,
            bucket=BUCKET,
            dynamodb=session.client("dynamodb", endpoint_url=self.aws_endpoint),
            s3=session.client(
                "s3", endpoint_url=self.aws_endpoint, config=Config(s3={"addressing_style": "path"})
            ),
            aws_port=lambda: moto.get_host_and_port()[1],
            interval=self.options.save_interval,
        )
        # An explicit IMGPRO_CLOCK_OFFSET_SECONDS wins over the offset saved last time.
        keep_clock = bool(os.environ.get(config.CLOCK_OFFSET_SECONDS, "").strip())
        self.restored = persistence.restore(keep_clock=keep_clock)
        # Only now: a start that failed halfway through loading must not save (over the
        # folder's state) the part it loaded.
        self._persistence = persistence

    def _seed(self) -> list[IssuedToken]:
        from imgpro import teams
        from imgpro.auth import new_secret

        for team in self.options.teams:
            try:
                teams.put_team(team.team_id, plan=team.plan, public_default=team.public_default)
            except ValueError as error:
                raise SeedError(f"--team {team.team_id}: {error}") from None
        if self.options.tokens:
            specs = self.options.tokens
            remembered = None
        else:
            remembered = self._remembered_token()
            secret = remembered.secret() if remembered is not None else None
            specs = (TokenSpec(DEFAULT_TEAM, ("*",), secret or new_secret()),)
        issued = [_ensure_token(spec) for spec in specs]
        if remembered is not None:
            remembered.remember(issued[0].sanctum)
            self.token_file = remembered.path
        return issued

    def _remembered_token(self) -> TokenFile | None:
        if self._data is not None:
            return self._data.token
        if self.options.token_file is not None:
            return TokenFile(self.options.token_file)
        return None

    def _expire_items(self) -> None:
        """DynamoDB's TTL process and the expiry worker's stream trigger, which moto lacks."""
        from imgpro.expiry_rules import WORKER_FUNCTION
        from imgpro.local.ttl import KEY_ATTRIBUTES, TtlEmulator
        from imgpro.models import TTL_ATTRIBUTE

        functions, moto = self._functions, self._moto
        assert functions is not None and moto is not None

        def find_expired(now: int) -> list[dict[str, Any]] | None:
            return moto.expired_items(TABLE, TTL_ATTRIBUTE, now, region=REGION, keys=KEY_ATTRIBUTES)

        self._ttl = TtlEmulator(
            table=TABLE,
            invoke=lambda event: functions.invoke_worker(WORKER_FUNCTION, event),
            find_expired=find_expired,
        )
        self._ttl.start()

    def _keep_saving(self) -> None:
        if self._persistence is not None:
            self._persistence.save(force=True)  # the seed, and the port moto has this time
            self._persistence.start()

    def _save_last(self) -> None:
        persistence, self._persistence = self._persistence, None
        if persistence is None:
            return
        persistence.stop(timeout=_STEP_SECONDS)  # a save under way ends first
        if self._moto is None:
            return
        try:
            if persistence.save():
                logger.info("saved the state in %s", persistence.data_dir.path)
        except Exception:
            logger.exception("could not save the state in %s", persistence.data_dir.path)

    def _serve(self) -> None:
        assert self._http is not None
        self._serving = threading.Thread(
            # A short poll: `stop()` waits for the loop to notice it is asked to end.
            target=self._http.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="imgpro-local-http",
            daemon=True,
        )
        self._serving.start()


def _ensure_token(spec: TokenSpec) -> IssuedToken:
    """The token of `spec`, issued unless the table (restored from a data directory)
    already holds one with its secret for the same team and abilities: then the same
    token, id and all. One for another team or abilities is replaced."""
    from imgpro import teams
    from imgpro.auth import hash_secret
    from imgpro.models import META, TokenItem, token_pk

    assert spec.secret is not None
    try:
        abilities = teams.validate_abilities(spec.abilities)
        teams.ensure_team(spec.team_id)
        try:
            existing = TokenItem.get(token_pk(hash_secret(spec.secret)), META, consistent_read=True)
        except TokenItem.DoesNotExist:
            pass
        else:
            if existing.team_id == spec.team_id and tuple(existing.abilities) == abilities:
                return teams.IssuedToken(
                    token_id=int(existing.token_id),
                    team_id=existing.team_id,
                    abilities=abilities,
                    secret=spec.secret,
                )
            existing.delete()
        return teams.issue_token(spec.team_id, abilities=abilities, secret=spec.secret)
    except ValueError as error:
        raise SeedError(f"--token {spec.label}: {error}") from None


def _in_background(step: Callable[[], object]) -> threading.Thread:
    """`step` running in a daemon thread: one still running never holds up the exit."""
    thread = threading.Thread(target=step, name="imgpro-local-stop", daemon=True)
    thread.start()
    return thread


def _is_free(port: int) -> bool:
    try:
        _check_free(LOOPBACK, port)
    except OSError:
        return False
    return True


def _check_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(f"cannot use {host}:{port} for moto: {error.strerror}") from None
