"""CloudFront signed URLs for private media: issuing them, and checking them as CloudFront does.

Private media is signed with a **custom policy per media item** (`sign_any_query`): its
`Resource` is the item's own URL up to and including its extension, then `*`:

    https://cdn.example/private/abc123def456.jpg*

so the one signature opens that item's original and every size of it (`?size=m` added
before `Policy` or after `Key-Pair-Id`), and nothing else. Why `*` and not `?*`: in a
CloudFront resource `?` is itself a wildcard for exactly one character, not a literal
question mark, so `.jpg?*` would not be narrower (it too matches `.jpgX...`) and would
refuse the bare URL once CloudFront drops the empty query. What keeps other media out is
the `.` before the extension: an id is `[a-z0-9]`, so no other id's URL starts with
`.../abc123def456.` (the trap in SECURITY-NOTES is a `*` right after the id, where
`.../abc*` also opens `.../abcd...`). A longer path (`.../abc123def456.jpg/x`) matches the
wildcard but is no media URL: the viewer function answers it 404, and refuses any policy
whose resource is not exactly the requested item's URL plus `*` (infra/cdn_function.js).

Canned-policy URLs (`Expires=`, one exact URL) are what earlier versions issued; `sign`
still makes them and `verify` still accepts them until they expire.

`verify` is CloudFront's side of the check, for the local stack's CDN, so that local runs
refuse exactly what the deployed CDN would refuse.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from imgpro import clock, config
from imgpro.config import ConfigError, Settings, settings

if TYPE_CHECKING:
    from botocore.signers import CloudFrontSigner
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

EXPIRES = "Expires"
POLICY = "Policy"
SIGNATURE = "Signature"
KEY_PAIR_ID = "Key-Pair-Id"
SIGNING_PARAMETERS = (EXPIRES, SIGNATURE, KEY_PAIR_ID)
"""A canned-policy URL's, in the order botocore appends them, which `verify` requires."""
CUSTOM_SIGNING_PARAMETERS = (POLICY, SIGNATURE, KEY_PAIR_ID)
"""A custom-policy URL's, in botocore's order: `verify` wants them once each, together."""
ALL_SIGNING_PARAMETERS = frozenset((*SIGNING_PARAMETERS, POLICY))

# The last path segment of a URL `sign_any_query` may cover: a name, a dot, an extension.
_ITEM_NAME = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9]+")
# A policy is about 200 bytes; anything far longer was not issued here.
_MAX_POLICY_CHARS = 4096
_CONDITIONS = frozenset(("DateLessThan", "DateGreaterThan", "IpAddress"))

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
    (epoch seconds), by default now + IMGPRO_SIGNED_URL_TTL_SECONDS. What earlier versions
    issued for private media; `sign_any_query` is what they get now.
    """
    current = _signing_settings()
    _check_signable(url)
    signed: str = _signer(current).generate_presigned_url(
        url, date_less_than=_moment(_expiry(current, expires_at))
    )
    return signed


def sign_any_query(url: str, *, expires_at: int | None = None) -> str:
    """`url` with `Policy`, `Signature` and `Key-Pair-Id` appended (after its own query).

    The custom policy's resource is `item_resource` of `url` without its query: the same
    signature opens that URL with any query string (every `size` of one media item), and
    no other path. Valid until `expires_at`, by default now + IMGPRO_SIGNED_URL_TTL_SECONDS.
    """
    current = _signing_settings()
    _check_signable(url)
    resource = item_resource(url.partition("?")[0])
    policy = custom_policy(resource, _expiry(current, expires_at))
    signed: str = _signer(current).generate_presigned_url(url, policy=policy.decode("utf-8"))
    return signed


def item_resource(item_url: str) -> str:
    """The custom-policy resource that covers `item_url` with any query string and nothing
    with another name or extension: `item_url` followed by `*`.

    `item_url` must end in `name.ext` and hold no wildcard (`*`, `?`) of its own; that its
    name cannot be extended (ids have one alphabet without the dot, and one length) is the
    caller's to know (`imgpro.urls`).
    """
    parts = urlsplit(item_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"only absolute http(s) URLs can be signed, got {item_url!r}")
    if "*" in item_url or "?" in item_url or "#" in item_url:
        raise ValueError(f"an item URL has no query, fragment or wildcard, got {item_url!r}")
    if not _ITEM_NAME.fullmatch(parts.path.rpartition("/")[2]):
        raise ValueError(f"an item URL ends in name.ext, got {item_url!r}")
    return f"{item_url}*"


def verify(
    url: str, *, now: int | None = None, public_keys: Mapping[str, str] | None = None
) -> bool:
    """Whether CloudFront would accept `url` as a signed URL, at `now`.

    The URL must be the full URL as the viewer sends it (scheme, host, path and query,
    byte for byte). Two forms pass:

    - canned policy: ending in `Expires=…&Signature=…&Key-Pair-Id=…` as `sign` writes
      them, the signature over the policy of exactly the URL without them;
    - custom policy: `Policy=…&Signature=…&Key-Pair-Id=…` once each, together, with the
      URL's own parameters before and/or after them (CloudFront documents both places).
      The signature is over the decoded policy; its resource must match the URL without
      the three (and without the `?` when nothing is left) with CloudFront's wildcards
      (`*` any run of characters, `?` exactly one); `DateLessThan` must be in the future
      and a `DateGreaterThan` in the past. A policy with `IpAddress` is refused: none is
      issued, and the local CDN does not check viewer addresses.

    `public_keys` is the key group, {key id: public PEM}: a URL signed by any of them
    passes, as CloudFront accepts every key of a behavior's key groups (rotation). By
    default the one key of IMGPRO_SIGNING_KEY_ID and IMGPRO_SIGNING_PUBLIC_KEY.

    Malformed input answers False; only a missing or unreadable public key (a deployment
    bug) raises.
    """
    if public_keys is None:
        current = settings()
        for name, value in (
            (config.SIGNING_KEY_ID, current.signing_key_id),
            (config.SIGNING_PUBLIC_KEY, current.signing_public_key),
        ):
            if not value:
                raise ConfigError(f"environment variable {name} is required to verify signed URLs")
        assert current.signing_key_id is not None and current.signing_public_key is not None
        public_keys = {current.signing_key_id: current.signing_public_key}
    if not public_keys:
        raise ConfigError("verifying signed URLs needs at least one public key")
    group = {key_id: _public_key(pem) for key_id, pem in public_keys.items()}
    moment = int(clock.now()) if now is None else now

    custom = _parse_custom(url)
    if custom is not None:
        resource, values = custom
        public_key = group.get(values[KEY_PAIR_ID])
        if public_key is None:
            return False
        if len(values[POLICY]) > _MAX_POLICY_CHARS:
            return False
        policy = _decode_cloudfront_base64(values[POLICY])
        signature = _decode_cloudfront_base64(values[SIGNATURE])
        if policy is None or signature is None:
            return False
        return _rsa_sha1_valid(public_key, signature, policy) and _policy_allows(
            policy, resource, moment
        )

    parsed = _parse_signed(url)
    if parsed is None:
        return False
    resource, values = parsed
    public_key = group.get(values[KEY_PAIR_ID])
    if public_key is None:
        return False
    if not _EXPIRES_FORM.fullmatch(values[EXPIRES]):
        return False
    expires = int(values[EXPIRES])
    if expires <= moment:
        return False
    signature = _decode_cloudfront_base64(values[SIGNATURE])
    if signature is None:
        return False
    try:
        policy = canned_policy(resource, expires)
    except (ValueError, OverflowError, OSError):
        return False  # an expiry no datetime can hold was never issued by sign()
    return _rsa_sha1_valid(public_key, signature, policy)


def signed_resource(url: str) -> str | None:
    """The `Resource` of the custom policy `url` carries, unverified (`verify` checks the
    signature); None for a canned-policy or unsigned URL, or a policy without one."""
    custom = _parse_custom(url)
    if custom is None:
        return None
    decoded = _decode_cloudfront_base64(custom[1][POLICY][:_MAX_POLICY_CHARS])
    statement = _statement(decoded) if decoded is not None else None
    resource = statement.get("Resource") if statement is not None else None
    return resource if isinstance(resource, str) else None


def resource_matches(resource: str, url: str) -> bool:
    """Whether a policy's resource matches `url` as CloudFront matches them: `*` stands for
    any run of characters (none included), `?` for exactly one, everything else for itself.

    Greedy with backtracking to the last `*` only: linear in practice, at worst
    len(resource) x len(url) steps, never exponential.
    """
    r = u = 0
    star, resume = -1, 0
    while u < len(url):
        if r < len(resource) and resource[r] == "*":
            star, resume = r, u
            r += 1
        elif r < len(resource) and resource[r] in ("?", url[u]):
            r += 1
            u += 1
        elif star >= 0:
            resume += 1
            r, u = star + 1, resume
        else:
            return False
    return all(char == "*" for char in resource[r:])


def unsigned(url: str) -> str:
    """`url` without its signing parameters: the URL of the object it names.

    For a URL that `verify` accepts this is exactly the signed resource, so the local
    CDN serves the object the signature covers and no other.
    """
    rest, hash_mark, fragment = url.partition("#")
    base, question_mark, query = rest.partition("?")
    if not question_mark:
        return url
    kept = [piece for piece in query.split("&") if _name(piece) not in ALL_SIGNING_PARAMETERS]
    return _join(base, kept) + hash_mark + fragment


def canned_policy(resource: str, expires: int) -> bytes:
    """The policy statement a canned-policy signature covers, byte for byte as botocore
    (and so CloudFront) writes it: compact JSON, Resource before Condition."""
    from botocore.signers import CloudFrontSigner

    # build_policy reads nothing from the signer; the key id and RSA signer are unused.
    policy: str = CloudFrontSigner("", None).build_policy(resource, _moment(expires))
    return policy.encode("utf-8")


def custom_policy(resource: str, expires: int) -> bytes:
    """The custom policy `sign_any_query` signs: the same JSON as a canned policy (botocore
    writes both), but sent in the URL as `Policy=` and free to hold wildcards."""
    return canned_policy(resource, expires)


def reset() -> None:
    """Forget the cached keys (tests, and the local stack when it restarts)."""
    _private_key_from_pem.cache_clear()
    _private_key_from_parameter.cache_clear()
    _public_key.cache_clear()


def _missing(current: Settings) -> list[str]:
    missing = []
    if not (current.signing_key_id or current.signing_key_ids):
        missing.append(config.SIGNING_KEY_ID)
    if not (current.signing_private_key or current.signing_key_parameter):
        missing.append(f"{config.SIGNING_PRIVATE_KEY} or {config.SIGNING_KEY_PARAMETER}")
    return missing


def _signing_settings() -> Settings:
    current = settings()
    missing = _missing(current)
    if missing:
        raise ConfigError(f"signing is not configured: set {' and '.join(missing)}")
    return current


def _expiry(current: Settings, expires_at: int | None) -> int:
    if expires_at is not None:
        return expires_at
    return int(clock.now()) + current.signed_url_ttl_seconds


def _signer(current: Settings) -> CloudFrontSigner:
    from botocore.signers import CloudFrontSigner
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key = _private_key(current)

    def rsa_sha1(message: bytes) -> bytes:
        # CloudFront verifies RSA-SHA1 with PKCS#1 v1.5 padding, and nothing else.
        return key.sign(message, padding.PKCS1v15(), hashes.SHA1())

    return CloudFrontSigner(_key_id(current, key), rsa_sha1)


def fingerprint(public_key_pem: str) -> str:
    """A short, stable name of a public key: SHA-256 of its DER SubjectPublicKeyInfo, the
    first 16 hex digits. Whitespace and line endings of the PEM do not change it."""
    import hashlib

    from cryptography.hazmat.primitives import serialization

    der = _public_key_from(public_key_pem, origin="public key").public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def parse_key_ids(value: str) -> dict[str, str]:
    """`id=fingerprint,...` (IMGPRO_SIGNING_KEY_IDS) as {fingerprint: id}."""
    pairs: dict[str, str] = {}
    for item in value.split(","):
        key_id, equals, print_ = (part.strip() for part in item.strip().partition("="))
        if not item.strip():
            continue
        if not (key_id and equals):
            raise ConfigError(f"{config.SIGNING_KEY_IDS}: expected id=fingerprint, got {item!r}")
        # An empty fingerprint: a key given as a stack parameter, known only by its id.
        pairs[print_] = key_id
    return pairs


def _key_id(current: Settings, key: RSAPrivateKey) -> str:
    """The Key-Pair-Id for `key`: with a key group (IMGPRO_SIGNING_KEY_IDS), the id of the
    public key that is this private key's other half; else IMGPRO_SIGNING_KEY_ID."""
    if not current.signing_key_ids:
        assert current.signing_key_id is not None  # _missing() checked it
        return current.signing_key_id
    from cryptography.hazmat.primitives import serialization

    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    key_ids = parse_key_ids(current.signing_key_ids)
    key_id = key_ids.get(fingerprint(pem))
    if key_id is None and "" in key_ids and current.signing_key_id:
        # The main key came in as a stack parameter: no fingerprint to match, it is the one.
        key_id = current.signing_key_id
    if key_id is None:
        # Signing with a key CloudFront does not trust would hand out URLs that all 403.
        raise ConfigError(
            f"the private signing key is not in the key group ({config.SIGNING_KEY_IDS}):"
            " add its public key to the stack before putting it in SSM"
        )
    return key_id


def _rsa_sha1_valid(public_key: RSAPublicKey, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA1())
    except InvalidSignature:
        return False
    return True


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
    if any(_name(piece) in ALL_SIGNING_PARAMETERS for piece in parts.query.split("&")):
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
    if any(_name(piece) in ALL_SIGNING_PARAMETERS for piece in kept):
        return None
    return _join(base, kept), values


def _parse_custom(url: str) -> tuple[str, dict[str, str]] | None:
    """For a custom-policy URL: the URL its resource is matched against (the URL without
    `Policy`, `Signature` and `Key-Pair-Id`) and their values; else None.

    The three must each be there once, side by side in botocore's order; the URL's own
    parameters may come before them (botocore, and the usual place) or after them (where
    a client that appends `&size=m` to a signed `src` puts it). No `Expires` beside them.
    """
    if "#" in url:
        return None
    base, question_mark, query = url.partition("?")
    if not question_mark:
        return None
    pieces = query.split("&")
    names = [_name(piece) for piece in pieces]
    if EXPIRES in names or any(names.count(name) != 1 for name in CUSTOM_SIGNING_PARAMETERS):
        return None
    start = names.index(POLICY)
    block = pieces[start : start + len(CUSTOM_SIGNING_PARAMETERS)]
    if [_name(piece) for piece in block] != list(CUSTOM_SIGNING_PARAMETERS):
        return None
    values: dict[str, str] = {}
    for piece in block:
        name, equals, value = piece.partition("=")
        if not equals:
            return None
        values[name] = value
    own = pieces[:start] + pieces[start + len(CUSTOM_SIGNING_PARAMETERS) :]
    return _join(base, own), values


def _policy_allows(policy: bytes, url: str, now: int) -> bool:
    statement = _statement(policy)
    if statement is None:
        return False
    # CloudFront: a policy without a resource opens every object the key can sign for.
    resource = statement.get("Resource", "*")
    if not isinstance(resource, str) or not resource_matches(resource, url):
        return False
    condition = statement.get("Condition")
    if not isinstance(condition, dict) or not set(condition) <= _CONDITIONS:
        return False
    if "IpAddress" in condition:
        return False
    before = _epoch_time(condition.get("DateLessThan"))
    if before is None or now >= before:
        return False
    if "DateGreaterThan" in condition:
        after = _epoch_time(condition["DateGreaterThan"])
        if after is None or now <= after:
            return False
    return True


def _statement(policy: bytes) -> dict[str, object] | None:
    """The one statement of a policy document, or None when it is not one."""

    def no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate key")  # which copy counts is not for us to guess
        return dict(pairs)

    try:
        document = json.loads(policy.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or set(document) != {"Statement"}:
        return None
    statements = document["Statement"]
    if not isinstance(statements, list) or len(statements) != 1:
        return None
    statement = statements[0]
    if not isinstance(statement, dict) or not set(statement) <= {"Resource", "Condition"}:
        return None
    return statement


def _epoch_time(value: object) -> int | None:
    if not isinstance(value, dict) or set(value) != {"AWS:EpochTime"}:
        return None
    moment = value["AWS:EpochTime"]
    if isinstance(moment, bool) or not isinstance(moment, int):
        return None
    return moment


def _decode_cloudfront_base64(text: str) -> bytes | None:
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


@lru_cache(maxsize=8)
def _public_key(pem: str) -> RSAPublicKey:
    return _public_key_from(pem, origin=f"environment variable {config.SIGNING_PUBLIC_KEY}")


def _public_key_from(pem: str, *, origin: str) -> RSAPublicKey:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"{origin} is not a PEM public key") from None
    if not isinstance(key, RSAPublicKey):
        raise ConfigError(f"{origin} must be an RSA key: CloudFront verifies RSA-SHA1 only")
    return key
