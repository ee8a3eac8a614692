"""CloudFront signed URLs for private media: issuing them, and checking them as CloudFront does.

Every URL gets its own canned policy (that exact URL, one expiry). No custom policy is ever
made: its resource may end in `*`, and `…/abc*` also opens `…/abcd…` (SECURITY-NOTES), so one
leaked URL would open other media. A size variant (`?size=m`) is a different URL and is signed
on its own; its query is part of what is signed.

`verify` is CloudFront's side of the check, for the local stack's CDN, so that local runs
refuse exactly what the deployed CDN would refuse.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from imgpro import clock, config
from imgpro.config import ConfigError, Settings, settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

EXPIRES = "Expires"
SIGNATURE = "Signature"
KEY_PAIR_ID = "Key-Pair-Id"
SIGNING_PARAMETERS = (EXPIRES, SIGNATURE, KEY_PAIR_ID)
"""In the order botocore appends them, which is the order `verify` requires."""

# Canonical decimal only: "012" or "+12" would name the same instant as "12" and let one
# signature stand for several URLs. Twelve digits reach past 253402300799 (the end of year
# 9999, the last second a datetime holds, and botocore's policy builder takes a datetime).
_EXPIRES_FORM = re.compile(r"[1-9][0-9]{0,11}")
# CloudFront's URL-safe base64 alphabet: '+' is sent as '-', '=' as '_', '/' as '~'.
_SIGNATURE_FORM = re.compile(r"[A-Za-z0-9~_-]+")
_FROM_CLOUDFRONT_BASE64 = str.maketrans("-_~", "+=/")


def signing_enabled() -> bool:
    """True when URLs can be signed; False when no signing variable is set at all.

    Half a configuration (a key id without a key, or a key without its id) raises
    ConfigError: it is a deployment bug, and answering False would quietly hand out
    unsigned URLs that CloudFront refuses.
    """
    current = settings()
    missing = _missing(current)
    if not missing:
        return True
    if len(missing) == 2:
        return False
    raise ConfigError(f"signing is half configured: set {missing[0]}")


def sign(url: str, *, expires_at: int | None = None) -> str:
    """`url` with `Expires`, `Signature` and `Key-Pair-Id` appended (after its own query).

    The signature covers the canned policy of exactly `url`, valid until `expires_at`
    (epoch seconds), by default now + IMGPRO_SIGNED_URL_TTL_SECONDS.
    """
    current = settings()
    missing = _missing(current)
    if missing:
        raise ConfigError(f"signing is not configured: set {' and '.join(missing)}")
    _check_signable(url)
    expires = (
        expires_at if expires_at is not None else int(clock.now()) + current.signed_url_ttl_seconds
    )
    from botocore.signers import CloudFrontSigner
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key = _private_key(current)

    def rsa_sha1(message: bytes) -> bytes:
        # CloudFront verifies RSA-SHA1 with PKCS#1 v1.5 padding, and nothing else.
        return key.sign(message, padding.PKCS1v15(), hashes.SHA1())

    assert current.signing_key_id is not None  # _missing() checked it
    signer = CloudFrontSigner(current.signing_key_id, rsa_sha1)
    signed: str = signer.generate_presigned_url(url, date_less_than=_moment(expires))
    return signed


def verify(url: str, *, now: int | None = None) -> bool:
    """Whether CloudFront would accept `url` as a canned-policy signed URL, at `now`.

    The URL must be the full URL as issued (scheme, host, path and query, byte for byte),
    ending in `Expires=…&Signature=…&Key-Pair-Id=…` as `sign` writes them. Malformed input
    answers False; only a missing or unreadable public key (a deployment bug) raises.
    """
    current = settings()
    for name, value in (
        (config.SIGNING_KEY_ID, current.signing_key_id),
        (config.SIGNING_PUBLIC_KEY, current.signing_public_key),
    ):
        if not value:
            raise ConfigError(f"environment variable {name} is required to verify signed URLs")
    assert current.signing_public_key is not None
    public_key = _public_key(current.signing_public_key)

    parsed = _parse_signed(url)
    if parsed is None:
        return False
    resource, values = parsed
    if values[KEY_PAIR_ID] != current.signing_key_id:
        return False
    if not _EXPIRES_FORM.fullmatch(values[EXPIRES]):
        return False
    expires = int(values[EXPIRES])
    if expires <= (int(clock.now()) if now is None else now):
        return False
    signature = _decode_signature(values[SIGNATURE])
    if signature is None:
        return False
    try:
        policy = canned_policy(resource, expires)
    except (ValueError, OverflowError, OSError):
        return False  # an expiry no datetime can hold was never issued by sign()

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        public_key.verify(signature, policy, padding.PKCS1v15(), hashes.SHA1())
    except InvalidSignature:
        return False
    return True


def unsigned(url: str) -> str:
    """`url` without its signing parameters: the URL of the object it names.

    For a URL that `verify` accepts this is exactly the signed resource, so the local
    CDN serves the object the signature covers and no other.
    """
    rest, hash_mark, fragment = url.partition("#")
    base, question_mark, query = rest.partition("?")
    if not question_mark:
        return url
    kept = [piece for piece in query.split("&") if _name(piece) not in SIGNING_PARAMETERS]
    return _join(base, kept) + hash_mark + fragment


def canned_policy(resource: str, expires: int) -> bytes:
    """The policy statement a canned-policy signature covers, byte for byte as botocore
    (and so CloudFront) writes it: compact JSON, Resource before Condition."""
    from botocore.signers import CloudFrontSigner

    # build_policy reads nothing from the signer; the key id and RSA signer are unused.
    policy: str = CloudFrontSigner("", None).build_policy(resource, _moment(expires))
    return policy.encode("utf-8")


def reset() -> None:
    """Forget the cached keys (tests, and the local stack when it restarts)."""
    _private_key_from_pem.cache_clear()
    _private_key_from_parameter.cache_clear()
    _public_key.cache_clear()


def _missing(current: Settings) -> list[str]:
    missing = []
    if not current.signing_key_id:
        missing.append(config.SIGNING_KEY_ID)
    if not (current.signing_private_key or current.signing_key_parameter):
        missing.append(f"{config.SIGNING_PRIVATE_KEY} or {config.SIGNING_KEY_PARAMETER}")
    return missing


def _check_signable(url: str) -> None:
    # Each of these would give a URL that CloudFront (and verify) can never accept, so
    # it is a caller's bug, raised here rather than discovered as a 403 by a user.
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"only absolute http(s) URLs can be signed, got {url!r}")
    if not url.isascii() or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        # Clients percent-encode these before sending, so the URL CloudFront sees would
        # differ from the one signed.
        raise ValueError(f"a URL to sign must be ASCII without spaces, got {url!r}")
    if "#" in url:
        raise ValueError(f"a URL to sign cannot carry a fragment, got {url!r}")
    if any(_name(piece) in SIGNING_PARAMETERS for piece in parts.query.split("&")):
        raise ValueError(f"URL is already signed: {url!r}")


def _parse_signed(url: str) -> tuple[str, dict[str, str]] | None:
    """The resource a signed URL names and its three signing values, or None when the URL
    does not end in them, in botocore's order, exactly once."""
    if "#" in url:
        return None  # never part of a request CloudFront receives
    base, question_mark, query = url.partition("?")
    if not question_mark:
        return None
    pieces = query.split("&")
    if len(pieces) < 3:
        return None
    kept, tail = pieces[:-3], pieces[-3:]
    values: dict[str, str] = {}
    for piece, expected in zip(tail, SIGNING_PARAMETERS, strict=True):
        name, equals, value = piece.partition("=")
        if name != expected or not equals:
            return None
        values[name] = value
    # A second copy earlier in the query would make "which Expires counts" a question
    # a proxy and this check could answer differently.
    if any(_name(piece) in SIGNING_PARAMETERS for piece in kept):
        return None
    return _join(base, kept), values


def _decode_signature(text: str) -> bytes | None:
    if not _SIGNATURE_FORM.fullmatch(text):
        return None
    try:
        return base64.b64decode(text.translate(_FROM_CLOUDFRONT_BASE64), validate=True)
    except binascii.Error:
        return None


def _name(piece: str) -> str:
    return piece.partition("=")[0]


def _join(base: str, pieces: list[str]) -> str:
    # Rebuilds the text before botocore's separator: "u?" signs as "u?&Expires=…", and
    # its one empty piece brings back the "?".
    return f"{base}?{'&'.join(pieces)}" if pieces else base


def _moment(expires: int) -> datetime:
    # Timezone-aware: botocore reads a naive datetime as UTC, but this says so.
    return datetime.fromtimestamp(expires, tz=UTC)


def _private_key(current: Settings) -> RSAPrivateKey:
    if current.signing_private_key:
        return _private_key_from_pem(current.signing_private_key)
    assert current.signing_key_parameter is not None  # _missing() checked it
    return _private_key_from_parameter(current.signing_key_parameter)


# Cached by their input, not just once: a changed setting (a test, a restarted local
# stack) then loads the new key even before reset() is called.
@lru_cache(maxsize=1)
def _private_key_from_pem(pem: str) -> RSAPrivateKey:
    return _load_private_key(pem, origin=f"environment variable {config.SIGNING_PRIVATE_KEY}")


@lru_cache(maxsize=1)
def _private_key_from_parameter(name: str) -> RSAPrivateKey:
    """The key from SSM, fetched once per container: a cold start pays one GetParameter."""
    import boto3
    from botocore.exceptions import ClientError

    try:
        answer = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ParameterNotFound":
            raise
        raise ConfigError(
            f"SSM parameter {name!r} (environment variable {config.SIGNING_KEY_PARAMETER})"
            " does not exist"
        ) from None
    origin = f"SSM parameter {name!r} (environment variable {config.SIGNING_KEY_PARAMETER})"
    return _load_private_key(answer["Parameter"]["Value"], origin=origin)


def _load_private_key(pem: str, *, origin: str) -> RSAPrivateKey:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # `from None`: the parser's message is no help, and the key must not reach a log.
        raise ConfigError(f"{origin} is not an unencrypted PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise ConfigError(f"{origin} must be an RSA key: CloudFront verifies RSA-SHA1 only")
    return key


@lru_cache(maxsize=1)
def _public_key(pem: str) -> RSAPublicKey:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    origin = f"environment variable {config.SIGNING_PUBLIC_KEY}"
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"{origin} is not a PEM public key") from None
    if not isinstance(key, RSAPublicKey):
        raise ConfigError(f"{origin} must be an RSA key: CloudFront verifies RSA-SHA1 only")
    return key
