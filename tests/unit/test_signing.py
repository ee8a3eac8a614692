from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from imgpro import config, signing
from imgpro.config import ConfigError
from tests.conftest import signing_key_pair

CDN = "https://cdn.example.test"
URL = f"{CDN}/ab12cd34.jpg"
KEY_ID = "K2TESTKEY"
# 2100-01-01: far enough that no test run sees it expire.
FAR = 4_102_444_800
# Hypothesis re-runs a test body many times under one function-scoped fixture; the
# environment it sets is the same for every example, so that is what we want.
ONE_ENVIRONMENT = hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@dataclass(frozen=True)
class Pair:
    private_pem: str
    public_pem: str


def _pair() -> Pair:
    return Pair(*signing_key_pair())


@pytest.fixture(scope="module")
def pairs() -> tuple[Pair, Pair]:
    """Two key pairs, made once: RSA key generation is the slow part of these tests."""
    return _pair(), _pair()


def _configure(monkeypatch: pytest.MonkeyPatch, **signing_env: str) -> None:
    monkeypatch.setenv(config.TABLE_NAME, "t")
    monkeypatch.setenv(config.BUCKET_NAME, "b")
    monkeypatch.setenv(config.CDN_BASE_URL, CDN)
    for name in (
        config.SIGNING_KEY_ID,
        config.SIGNING_KEY_IDS,
        config.SIGNING_KEY_PARAMETER,
        config.SIGNING_PRIVATE_KEY,
        config.SIGNING_PUBLIC_KEY,
        config.SIGNED_URL_TTL_SECONDS,
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in signing_env.items():
        monkeypatch.setenv(name, value)
    config.settings.cache_clear()
    signing.reset()


@pytest.fixture(autouse=True)
def _forget_settings() -> Iterator[None]:
    yield
    config.settings.cache_clear()
    signing.reset()


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, pairs: tuple[Pair, Pair]) -> Pair:
    pair = pairs[0]
    _configure(
        monkeypatch,
        **{
            config.SIGNING_KEY_ID: KEY_ID,
            config.SIGNING_PRIVATE_KEY: pair.private_pem,
            config.SIGNING_PUBLIC_KEY: pair.public_pem,
        },
    )
    return pair


def _query(url: str) -> dict[str, str]:
    return dict(piece.split("=", 1) for piece in url.partition("?")[2].split("&"))


def _replace(url: str, name: str, value: str) -> str:
    base, _, query = url.partition("?")
    pieces = [f"{name}={value}" if p.startswith(f"{name}=") else p for p in query.split("&")]
    return f"{base}?{'&'.join(pieces)}"


# --- the round trip and the URL shape ---


def test_a_signed_url_verifies(configured: Pair) -> None:
    assert signing.verify(signing.sign(URL, expires_at=FAR))


def test_a_signed_url_appends_expires_signature_and_key_pair_id(configured: Pair) -> None:
    signed = signing.sign(URL, expires_at=FAR)
    assert signed.startswith(f"{URL}?Expires={FAR}&Signature=")
    assert signed.endswith(f"&Key-Pair-Id={KEY_ID}")


def test_a_signed_url_keeps_its_own_query_first(configured: Pair) -> None:
    signed = signing.sign(f"{URL}?size=m", expires_at=FAR)
    assert signed.startswith(f"{URL}?size=m&Expires={FAR}&Signature=")
    assert signing.verify(signed)


def test_the_default_expiry_is_now_plus_the_ttl(
    configured: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.SIGNED_URL_TTL_SECONDS, "600")
    config.settings.cache_clear()
    before = int(time.time())
    expires = int(_query(signing.sign(URL))["Expires"])
    assert before + 600 <= expires <= int(time.time()) + 600


@given(
    path=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~/%", max_size=30),
    query=st.none() | st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789=&-._", max_size=30),
)
@ONE_ENVIRONMENT
def test_unsigned_gives_back_exactly_the_url_that_was_signed(
    configured: Pair, path: str, query: str | None
) -> None:
    url = f"{CDN}/{path}" + ("" if query is None else f"?{query}")
    names = {piece.partition("=")[0] for piece in (query or "").split("&")}
    if names & set(signing.SIGNING_PARAMETERS):
        return  # already carries a signing parameter: sign() refuses it (tested below)
    signed = signing.sign(url, expires_at=FAR)
    assert signing.unsigned(signed) == url
    assert signing.verify(signed)


def test_unsigned_leaves_an_unsigned_url_alone() -> None:
    assert signing.unsigned(f"{URL}?size=m") == f"{URL}?size=m"
    assert signing.unsigned(URL) == URL


# --- what CloudFront refuses ---


def test_an_expired_url_is_refused(configured: Pair) -> None:
    now = int(time.time())
    assert not signing.verify(signing.sign(URL, expires_at=now - 1))


def test_a_url_is_refused_from_its_expiry_second_on(configured: Pair) -> None:
    signed = signing.sign(URL, expires_at=FAR)
    assert signing.verify(signed, now=FAR - 1)
    assert not signing.verify(signed, now=FAR)


def test_a_signature_does_not_open_another_media_item(configured: Pair) -> None:
    signed = signing.sign(URL, expires_at=FAR)
    assert not signing.verify(signed.replace("ab12cd34", "ab12cd35"))


def test_a_signature_does_not_open_a_longer_media_id(configured: Pair) -> None:
    # The wildcard trap of custom policies: ".../ab12cd34*" would also match this.
    signed = signing.sign(f"{CDN}/ab12cd34", expires_at=FAR)
    assert not signing.verify(signed.replace("/ab12cd34?", "/ab12cd345?"))


def test_a_signature_for_size_m_does_not_open_size_xl(configured: Pair) -> None:
    signed = signing.sign(f"{URL}?size=m", expires_at=FAR)
    assert not signing.verify(signed.replace("size=m", "size=xl"))


def test_a_signature_for_a_variant_does_not_open_the_original(configured: Pair) -> None:
    signed = signing.sign(f"{URL}?size=m", expires_at=FAR)
    assert not signing.verify(signed.replace("?size=m&", "?"))


def test_a_later_expiry_breaks_the_signature(configured: Pair) -> None:
    signed = signing.sign(URL, expires_at=FAR)
    assert not signing.verify(_replace(signed, "Expires", str(FAR + 1)))


def test_a_non_canonical_expiry_is_refused(configured: Pair) -> None:
    # "0…" names the same instant, so the signature would match: CloudFront's form only.
    signed = signing.sign(URL, expires_at=FAR)
    assert not signing.verify(_replace(signed, "Expires", f"0{FAR}"))


def test_a_foreign_key_pair_id_is_refused(configured: Pair) -> None:
    signed = signing.sign(URL, expires_at=FAR)
    assert not signing.verify(_replace(signed, "Key-Pair-Id", "K2SOMEONEELSE"))


def test_a_signature_from_another_key_is_refused(
    configured: Pair, pairs: tuple[Pair, Pair], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.SIGNING_PRIVATE_KEY, pairs[1].private_pem)
    config.settings.cache_clear()
    forged = signing.sign(URL, expires_at=FAR)
    assert not signing.verify(forged)


def test_signing_parameters_out_of_order_are_refused(configured: Pair) -> None:
    signed = signing.sign(URL, expires_at=FAR)
    values = _query(signed)
    reordered = (
        f"{URL}?Signature={values['Signature']}&Expires={values['Expires']}"
        f"&Key-Pair-Id={values['Key-Pair-Id']}"
    )
    assert not signing.verify(reordered)


def test_a_second_set_of_signing_parameters_is_refused(configured: Pair) -> None:
    signed = signing.sign(URL, expires_at=FAR)
    tail = signed.partition("?")[2]
    assert not signing.verify(f"{URL}?{tail}&{tail}")


def test_a_url_with_a_fragment_is_refused(configured: Pair) -> None:
    assert not signing.verify(signing.sign(URL, expires_at=FAR) + "#x")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1],
        lambda s: s[:-4],
        lambda s: s[: len(s) // 2],
        lambda s: "",
        lambda s: s.rstrip("_"),
        lambda s: s.replace("-", "+").replace("~", "/").replace("_", "="),
        lambda s: s + "A",
        lambda s: s + "____",
        lambda s: s[::-1],
        lambda s: "%20" + s,
    ],
    ids=[
        "one-char-short",
        "four-chars-short",
        "half",
        "empty",
        "padding-stripped",
        "standard-base64",
        "one-char-long",
        "extra-padding",
        "reversed",
        "percent-encoded",
    ],
)
def test_a_mangled_signature_is_refused(configured: Pair, mangle) -> None:
    signed = signing.sign(URL, expires_at=FAR)
    signature = _query(signed)["Signature"]
    mangled = mangle(signature)
    assert mangled != signature
    assert signing.verify(_replace(signed, "Signature", mangled)) is False


@given(value=st.text())
@ONE_ENVIRONMENT
def test_garbage_signatures_are_refused_without_raising(configured: Pair, value: str) -> None:
    url = f"{URL}?Expires={FAR}&Signature={value}&Key-Pair-Id={KEY_ID}"
    assert signing.verify(url) is False


@given(value=st.text() | st.integers().map(str))
@ONE_ENVIRONMENT
def test_garbage_expiries_are_refused_without_raising(configured: Pair, value: str) -> None:
    signed = signing.sign(URL, expires_at=FAR)
    if value == str(FAR):
        return
    assert signing.verify(_replace(signed, "Expires", value)) is False


@given(cut=st.integers(min_value=0))
@ONE_ENVIRONMENT
def test_truncated_signed_urls_are_refused_without_raising(configured: Pair, cut: int) -> None:
    signed = signing.sign(URL, expires_at=FAR)
    assert signing.verify(signed[: cut % len(signed)]) is False


@given(query=st.text())
@ONE_ENVIRONMENT
def test_random_query_strings_are_refused_without_raising(configured: Pair, query: str) -> None:
    assert signing.verify(f"{URL}?{query}") is False
    signing.unsigned(f"{URL}?{query}")


@given(
    pieces=st.lists(
        st.tuples(
            st.sampled_from(["Expires", "Policy", "Signature", "Key-Pair-Id", "size", ""]),
            st.text(max_size=12),
        ),
        max_size=6,
    )
)
@ONE_ENVIRONMENT
def test_random_signing_parameters_are_refused_without_raising(
    configured: Pair, pieces: list[tuple[str, str]]
) -> None:
    query = "&".join(f"{name}={value}" for name, value in pieces)
    assert signing.verify(f"{URL}?{query}") is False


# --- the policy CloudFront checks ---


def test_the_canned_policy_is_byte_for_byte_what_botocore_signs(configured: Pair) -> None:
    from botocore.signers import CloudFrontSigner

    signed_messages: list[bytes] = []

    def recording_signer(message: bytes) -> bytes:
        signed_messages.append(message)
        return b"x"

    CloudFrontSigner(KEY_ID, recording_signer).generate_presigned_url(
        f"{URL}?size=m", date_less_than=signing._moment(FAR)
    )
    expected = (
        b'{"Statement":[{"Resource":"https://cdn.example.test/ab12cd34.jpg?size=m",'
        b'"Condition":{"DateLessThan":{"AWS:EpochTime":4102444800}}}]}'
    )
    assert signed_messages == [expected]
    assert signing.canned_policy(f"{URL}?size=m", FAR) == expected


def test_the_signature_is_rsa_sha1_over_the_canned_policy(configured: Pair) -> None:
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    signed = signing.sign(f"{URL}?size=m", expires_at=FAR)
    encoded = _query(signed)["Signature"]
    signature = base64.b64decode(encoded.replace("-", "+").replace("_", "=").replace("~", "/"))
    public_key = serialization.load_pem_public_key(configured.public_pem.encode())
    # Raises InvalidSignature if sign() signed anything but this policy with this scheme.
    public_key.verify(  # type: ignore[union-attr]
        signature,
        signing.canned_policy(f"{URL}?size=m", FAR),
        padding.PKCS1v15(),
        hashes.SHA1(),
    )


# --- where the key comes from ---


@pytest.fixture
def ssm_configured(
    monkeypatch: pytest.MonkeyPatch, pairs: tuple[Pair, Pair]
) -> Iterator[list[str]]:
    """The private key in an SSM SecureString (moto); yields the GetParameter calls seen."""
    import boto3
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    _configure(
        monkeypatch,
        **{
            config.SIGNING_KEY_ID: KEY_ID,
            config.SIGNING_KEY_PARAMETER: "/imgpro/signing-key",
            config.SIGNING_PUBLIC_KEY: pairs[0].public_pem,
        },
    )
    calls: list[str] = []
    with mock_aws():
        boto3.client("ssm").put_parameter(
            Name="/imgpro/signing-key", Value=pairs[0].private_pem, Type="SecureString"
        )
        # Counted on a fresh default session: signing's boto3.client("ssm") is made from it.
        session = boto3.Session()
        session.events.register(
            "before-parameter-build.ssm.GetParameter",
            lambda params, **_: calls.append(params["Name"]),
        )
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
        yield calls


def test_the_ssm_key_is_loaded_once_per_container(ssm_configured: list[str]) -> None:
    first = signing.sign(URL, expires_at=FAR)
    second = signing.sign(f"{URL}?size=m", expires_at=FAR)
    assert signing.verify(first) and signing.verify(second)
    assert ssm_configured == ["/imgpro/signing-key"]


def test_reset_loads_the_ssm_key_again(ssm_configured: list[str]) -> None:
    signing.sign(URL, expires_at=FAR)
    signing.reset()
    signing.sign(URL, expires_at=FAR)
    assert len(ssm_configured) == 2


def test_the_inline_key_wins_over_ssm(
    ssm_configured: list[str], pairs: tuple[Pair, Pair], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.SIGNING_PRIVATE_KEY, pairs[0].private_pem)
    config.settings.cache_clear()
    assert signing.verify(signing.sign(URL, expires_at=FAR))
    assert ssm_configured == []


def test_a_missing_ssm_parameter_names_it(
    ssm_configured: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.SIGNING_KEY_PARAMETER, "/imgpro/nowhere")
    config.settings.cache_clear()
    with pytest.raises(ConfigError, match="/imgpro/nowhere"):
        signing.sign(URL, expires_at=FAR)


# --- configuration ---


def test_sign_without_any_configuration_names_the_missing_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _configure(monkeypatch)
    with pytest.raises(ConfigError, match=config.SIGNING_KEY_ID) as raised:
        signing.sign(URL)
    assert config.SIGNING_PRIVATE_KEY in str(raised.value)


def test_sign_without_a_key_id_names_it(
    monkeypatch: pytest.MonkeyPatch, pairs: tuple[Pair, Pair]
) -> None:
    _configure(monkeypatch, **{config.SIGNING_PRIVATE_KEY: pairs[0].private_pem})
    with pytest.raises(ConfigError, match=config.SIGNING_KEY_ID):
        signing.sign(URL)


def test_sign_without_a_key_names_both_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(monkeypatch, **{config.SIGNING_KEY_ID: KEY_ID})
    with pytest.raises(ConfigError) as raised:
        signing.sign(URL)
    assert config.SIGNING_PRIVATE_KEY in str(raised.value)
    assert config.SIGNING_KEY_PARAMETER in str(raised.value)


def test_a_malformed_private_key_names_its_variable_not_its_content(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _configure(
        monkeypatch,
        **{config.SIGNING_KEY_ID: KEY_ID, config.SIGNING_PRIVATE_KEY: "not-a-key-secret"},
    )
    with pytest.raises(ConfigError, match=config.SIGNING_PRIVATE_KEY) as raised:
        signing.sign(URL)
    assert "not-a-key-secret" not in str(raised.value)


def test_signing_is_disabled_when_nothing_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(monkeypatch)
    assert signing.signing_enabled() is False


def test_signing_is_enabled_when_configured(configured: Pair) -> None:
    assert signing.signing_enabled() is True


def test_half_a_signing_configuration_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(monkeypatch, **{config.SIGNING_KEY_PARAMETER: "/imgpro/signing-key"})
    with pytest.raises(ConfigError, match=config.SIGNING_KEY_ID):
        signing.signing_enabled()


def test_verify_without_a_public_key_names_it(
    monkeypatch: pytest.MonkeyPatch, pairs: tuple[Pair, Pair]
) -> None:
    _configure(
        monkeypatch,
        **{config.SIGNING_KEY_ID: KEY_ID, config.SIGNING_PRIVATE_KEY: pairs[0].private_pem},
    )
    with pytest.raises(ConfigError, match=config.SIGNING_PUBLIC_KEY):
        signing.verify(URL)


# --- URLs that can never verify are refused at signing time ---


@pytest.mark.parametrize(
    "url",
    [
        "/ab12cd34.jpg",
        "ftp://cdn.example.test/a.jpg",
        f"{URL}#top",
        f"{CDN}/caf\u00e9.jpg",
        f"{CDN}/a b.jpg",
        f"{URL}?Expires=1",
    ],
    ids=["relative", "not-http", "fragment", "non-ascii", "space", "already-signed"],
)
def test_a_url_that_cloudfront_could_never_accept_is_not_signed(configured: Pair, url: str) -> None:
    with pytest.raises(ValueError):
        signing.sign(url, expires_at=FAR)


# --- custom policies: one media item, any query string ---

ITEM = f"{CDN}/private/abc123def456.jpg"
ITEM_POLICY = (
    b'{"Statement":[{"Resource":"https://cdn.example.test/private/abc123def456.jpg*",'
    b'"Condition":{"DateLessThan":{"AWS:EpochTime":4102444800}}}]}'
)
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
EXTENSIONS = ("jpg", "png", "gif", "webp", "svg")


def _to_cloudfront_base64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode().translate(str.maketrans("+=/", "-_~"))


def _custom(resource: str, expires: int = FAR, **condition: object) -> bytes:
    import json

    statement = {"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
    statement["Condition"].update(condition)  # type: ignore[union-attr]
    return json.dumps({"Statement": [statement]}, separators=(",", ":")).encode()


def _signed_with(policy: bytes, url: str, private_pem: str) -> str:
    """`url` signed with an arbitrary policy document (what a bug or an attacker with the
    key could make), to see what verify makes of it."""
    from botocore.signers import CloudFrontSigner
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    signer = CloudFrontSigner(
        KEY_ID,
        lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1()),  # type: ignore[union-attr]
    )
    signed: str = signer.generate_presigned_url(url, policy=policy.decode())
    return signed


def test_sign_any_query_appends_policy_signature_and_key_pair_id(configured: Pair) -> None:
    signed = signing.sign_any_query(f"{ITEM}?size=m", expires_at=FAR)
    assert signed.startswith(f"{ITEM}?size=m&Policy={_to_cloudfront_base64(ITEM_POLICY)}")
    assert list(_query(signed)) == ["size", "Policy", "Signature", "Key-Pair-Id"]
    assert _query(signed)["Key-Pair-Id"] == KEY_ID


def test_the_custom_policy_names_the_item_and_its_extension_then_a_wildcard(
    configured: Pair,
) -> None:
    assert signing.item_resource(ITEM) == f"{ITEM}*"
    assert signing.custom_policy(f"{ITEM}*", FAR) == ITEM_POLICY
    # The policy in the URL is that document, and the signature is RSA-SHA1 over it.
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    values = _query(signing.sign_any_query(ITEM, expires_at=FAR))
    assert base64.b64decode(values["Policy"].translate(str.maketrans("-_~", "+=/"))) == ITEM_POLICY
    signature = base64.b64decode(values["Signature"].translate(str.maketrans("-_~", "+=/")))
    public_key = serialization.load_pem_public_key(configured.public_pem.encode())
    public_key.verify(signature, ITEM_POLICY, padding.PKCS1v15(), hashes.SHA1())  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "url",
    [
        ITEM,
        f"{ITEM}?size=m",
        f"{ITEM}?size=xxl",
        f"{ITEM}?size=s&v=2",
        f"{ITEM}?",
    ],
)
def test_one_custom_signature_opens_the_item_with_any_query(configured: Pair, url: str) -> None:
    signed = signing.sign_any_query(ITEM, expires_at=FAR)
    signature = signed.partition("?")[2]
    own = url.partition("?")[2]
    before = f"{ITEM}?{own}&{signature}" if own else signed
    after = f"{signed}&{own}" if own else signed
    assert signing.verify(before)
    assert signing.verify(after)
    assert signing.unsigned(before) == (url if own else ITEM)


@pytest.mark.parametrize(
    "other",
    [
        f"{CDN}/private/abc123def457.jpg",
        f"{CDN}/private/abc123def4567.jpg",
        f"{CDN}/private/abc123def45.jpg",
        f"{CDN}/private/abc123def456.png",
        f"{CDN}/private/abc123def456.jpeg",
        f"{CDN}/abc123def456.jpg",
        f"{CDN}/private/xabc123def456.jpg",
        "https://other.example.test/private/abc123def456.jpg",
        "http://cdn.example.test/private/abc123def456.jpg",
    ],
)
def test_a_custom_signature_opens_no_other_url(configured: Pair, other: str) -> None:
    signature = signing.sign_any_query(f"{ITEM}?size=m", expires_at=FAR).partition("&")[2]
    assert not signing.verify(f"{other}?size=m&{signature}")
    assert not signing.verify(f"{other}?{signature}")


def test_an_expired_custom_signature_is_refused(configured: Pair) -> None:
    signed = signing.sign_any_query(ITEM, expires_at=FAR)
    assert signing.verify(signed, now=FAR - 1)
    assert not signing.verify(signed, now=FAR)
    assert not signing.verify(f"{signed}&size=m", now=FAR)


def test_a_tampered_policy_is_refused(configured: Pair) -> None:
    signed = signing.sign_any_query(ITEM, expires_at=FAR)
    policy = _query(signed)["Policy"]
    for tampered in (
        ITEM_POLICY.replace(b"abc123def456.jpg*", b"*"),
        ITEM_POLICY.replace(b"4102444800", b"4102444801"),
        ITEM_POLICY + b" ",
    ):
        assert not signing.verify(_replace(signed, "Policy", _to_cloudfront_base64(tampered)))
    assert not signing.verify(_replace(signed, "Policy", policy[:-4]))
    assert not signing.verify(_replace(signed, "Policy", "not base64!"))


def test_a_custom_signature_from_another_key_is_refused(
    configured: Pair, pairs: tuple[Pair, Pair]
) -> None:
    assert not signing.verify(_signed_with(ITEM_POLICY, ITEM, pairs[1].private_pem))
    assert signing.verify(_signed_with(ITEM_POLICY, ITEM, pairs[0].private_pem))


@pytest.mark.parametrize(
    "query",
    [
        "Signature={s}&Policy={p}&Key-Pair-Id={k}",
        "Policy={p}&size=m&Signature={s}&Key-Pair-Id={k}",
        "Policy={p}&Signature={s}&Key-Pair-Id={k}&Policy={p}",
        "Policy={p}&Signature={s}&Key-Pair-Id={k}&Expires=4102444800",
        "Expires=4102444800&Policy={p}&Signature={s}&Key-Pair-Id={k}",
        "Policy={p}&Signature={s}",
        "Policy&Signature={s}&Key-Pair-Id={k}",
    ],
    ids=[
        "reordered",
        "split",
        "second-policy",
        "expires-after",
        "expires-before",
        "no-key-pair-id",
        "policy-without-value",
    ],
)
def test_custom_signing_parameters_in_another_shape_are_refused(
    configured: Pair, query: str
) -> None:
    values = _query(signing.sign_any_query(ITEM, expires_at=FAR))
    filled = query.format(p=values["Policy"], s=values["Signature"], k=values["Key-Pair-Id"])
    assert not signing.verify(f"{ITEM}?{filled}")


@pytest.mark.parametrize(
    ("condition", "verified"),
    [
        ({}, True),
        ({"DateGreaterThan": {"AWS:EpochTime": 1}}, True),
        ({"DateGreaterThan": {"AWS:EpochTime": FAR - 1}}, False),
        ({"IpAddress": {"AWS:SourceIp": "0.0.0.0/0"}}, False),
        ({"DateLessThan": {"AWS:EpochTime": True}}, False),
        ({"DateLessThan": {"AWS:EpochTime": str(FAR)}}, False),
        ({"NotACondition": {}}, False),
    ],
    ids=["plain", "started", "not-yet", "ip", "bool-expiry", "string-expiry", "unknown"],
)
def test_policy_conditions_are_checked_as_cloudfront_does(
    configured: Pair, condition: dict, verified: bool
) -> None:
    url = _signed_with(_custom(f"{ITEM}*", **condition), ITEM, configured.private_pem)
    assert signing.verify(url) is verified


def test_a_policy_without_a_resource_opens_everything_as_in_cloudfront(configured: Pair) -> None:
    # CloudFront's rule (never issued here; the viewer function refuses it: it names no item).
    policy = b'{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":4102444800}}}]}'
    url = _signed_with(policy, f"{CDN}/private/zzzzzzzzzzzz.png", configured.private_pem)
    assert signing.verify(url)
    assert signing.signed_resource(url) is None


def test_a_policy_with_duplicate_keys_is_refused(configured: Pair) -> None:
    policy = (
        b'{"Statement":[{"Resource":"https://cdn.example.test/private/abc123def456.jpg*",'
        b'"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":4102444800}}}]}'
    )
    assert not signing.verify(_signed_with(policy, ITEM, configured.private_pem))


def test_signed_resource_reads_the_policy(configured: Pair) -> None:
    assert signing.signed_resource(signing.sign_any_query(ITEM, expires_at=FAR)) == f"{ITEM}*"
    assert signing.signed_resource(signing.sign(ITEM, expires_at=FAR)) is None
    assert signing.signed_resource(ITEM) is None


@pytest.mark.parametrize(
    "url",
    [
        f"{CDN}/private/abc123def456",
        f"{CDN}/private/",
        f"{CDN}/private/a*.jpg",
        f"{ITEM}?size=m",
        "/private/abc123def456.jpg",
    ],
)
def test_item_resource_refuses_what_a_wildcard_could_extend(url: str) -> None:
    with pytest.raises(ValueError):
        signing.item_resource(url)


def test_sign_any_query_refuses_an_already_signed_url(configured: Pair) -> None:
    with pytest.raises(ValueError):
        signing.sign_any_query(signing.sign_any_query(ITEM, expires_at=FAR), expires_at=FAR)


# --- CloudFront's wildcard semantics ---


@pytest.mark.parametrize(
    ("resource", "url", "matches"),
    [
        # The developer guide's example.
        (
            "http://d111111abcdef8.cloudfront.net/*game_download.zip*",
            "http://d111111abcdef8.cloudfront.net/game_download.zip",
            True,
        ),
        (
            "http://d111111abcdef8.cloudfront.net/*game_download.zip*",
            "http://d111111abcdef8.cloudfront.net/example_game_download.zip?license=yes",
            True,
        ),
        (
            "http://d111111abcdef8.cloudfront.net/*game_download.zip*",
            "http://d111111abcdef8.cloudfront.net/test_game_download.zip?license=temp",
            True,
        ),
        (
            "http://d111111abcdef8.cloudfront.net/*game_download.zip*",
            "http://d111111abcdef8.cloudfront.net/game_download.rar",
            False,
        ),
        # `?` is one character, not a literal question mark.
        ("https://c/a.jpg?*", "https://c/a.jpg", False),
        ("https://c/a.jpg?*", "https://c/a.jpg?size=m", True),
        ("https://c/a.jpg?*", "https://c/a.jpgX", True),
        ("https://c/a.jpg*", "https://c/a.jpg", True),
        ("https://c/a.jpg", "https://c/a.jpg", True),
        ("https://c/a.jpg", "https://c/a.jpgx", False),
        ("https://c/a*b*c", "https://c/aXXbYYc", True),
        ("https://c/a*b*c", "https://c/aXXbYY", False),
        ("*", "", True),
        ("", "x", False),
    ],
)
def test_resource_matching_follows_cloudfronts_wildcards(
    resource: str, url: str, matches: bool
) -> None:
    assert signing.resource_matches(resource, url) is matches


_IDS = st.text(alphabet=ID_ALPHABET, min_size=12, max_size=12)
_QUERIES = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)


@given(
    uid=_IDS,
    ext=st.sampled_from(EXTENSIONS),
    other_uid=_IDS,
    other_ext=st.sampled_from(EXTENSIONS),
    query=_QUERIES,
    private=st.booleans(),
)
def test_no_other_id_or_extension_matches_an_items_resource(
    uid: str, ext: str, other_uid: str, other_ext: str, query: str, private: bool
) -> None:
    side = "private/" if private else ""
    resource = signing.item_resource(f"{CDN}/{side}{uid}.{ext}")
    assert signing.resource_matches(resource, f"{CDN}/{side}{uid}.{ext}")
    assert signing.resource_matches(resource, f"{CDN}/{side}{uid}.{ext}?{query}")
    if (other_uid, other_ext) == (uid, ext):
        return
    for other in (f"{CDN}/{side}{other_uid}.{other_ext}", f"{CDN}/private/{other_uid}.{other_ext}"):
        assert not signing.resource_matches(resource, other)
        assert not signing.resource_matches(resource, f"{other}?{query}")


@given(
    uid=_IDS,
    extra=st.text(alphabet=ID_ALPHABET, min_size=1, max_size=4),
    ext=st.sampled_from(EXTENSIONS),
)
def test_an_id_that_extends_another_never_matches_its_resource(
    uid: str, extra: str, ext: str
) -> None:
    # The wildcard trap of SECURITY-NOTES: `.../abc*` would open `.../abcd...`. The
    # resource ends in `.ext*`, and an id has no dot, so neither a longer nor a shorter id
    # (ids are 12 characters, but the boundary does not rest on that) matches.
    longer, shorter = uid + extra, uid[: -len(extra)]
    assert not signing.resource_matches(
        signing.item_resource(f"{CDN}/{uid}.{ext}"), f"{CDN}/{longer}.{ext}"
    )
    assert not signing.resource_matches(
        signing.item_resource(f"{CDN}/{longer}.{ext}"), f"{CDN}/{uid}.{ext}"
    )
    assert not signing.resource_matches(
        signing.item_resource(f"{CDN}/{shorter}.{ext}"), f"{CDN}/{uid}.{ext}"
    )


@given(other_uid=_IDS, other_ext=st.sampled_from(EXTENSIONS), query=_QUERIES)
@hypothesis_settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_an_items_signature_verifies_for_no_other_item(
    configured: Pair, other_uid: str, other_ext: str, query: str
) -> None:
    signature = signing.sign_any_query(ITEM, expires_at=FAR).partition("?")[2]
    if (other_uid, other_ext) == ("abc123def456", "jpg"):
        return
    other = f"{CDN}/private/{other_uid}.{other_ext}"
    assert not signing.verify(f"{other}?{signature}")
    if "&" not in query and "#" not in query:
        assert not signing.verify(f"{other}?{query}&{signature}")
        assert not signing.verify(f"{other}?{signature}&{query}")


@given(value=st.text())
@ONE_ENVIRONMENT
def test_garbage_policies_are_refused_without_raising(configured: Pair, value: str) -> None:
    url = f"{ITEM}?Policy={value}&Signature=AAAA&Key-Pair-Id={KEY_ID}"
    assert signing.verify(url) is False
    signing.signed_resource(url)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    document=_JSON
    | st.fixed_dictionaries({"Statement": st.lists(_JSON, max_size=2)})
    | st.fixed_dictionaries(
        {
            "Statement": st.lists(
                st.fixed_dictionaries({"Resource": _JSON, "Condition": _JSON}), max_size=2
            )
        }
    )
)
@hypothesis_settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_validly_signed_odd_policies_never_raise(configured: Pair, document: object) -> None:
    import json

    policy = json.dumps(document, separators=(",", ":")).encode()
    url = _signed_with(policy, ITEM, configured.private_pem)
    assert signing.verify(url) in (True, False)
    signing.signed_resource(url)


# Rotation: a CloudFront key group holds up to five keys; every one of them opens URLs,
# and signers name the key whose private half they hold (IMGPRO_SIGNING_KEY_IDS).
OLD_ID, NEW_ID = "K2OLDKEY", "K2NEWKEY"


def _sign_with(monkeypatch: pytest.MonkeyPatch, private_pem: str, key_ids: str) -> None:
    _configure(
        monkeypatch,
        **{
            config.SIGNING_KEY_ID: OLD_ID,
            config.SIGNING_KEY_IDS: key_ids,
            config.SIGNING_PRIVATE_KEY: private_pem,
        },
    )


def test_rotation_keeps_old_urls_valid_until_they_expire(
    monkeypatch: pytest.MonkeyPatch, pairs: tuple[Pair, Pair]
) -> None:
    old, new = pairs
    now = int(time.time())
    old_print, new_print = signing.fingerprint(old.public_pem), signing.fingerprint(new.public_pem)

    # Before: one key in the group, its private half in SSM.
    _sign_with(monkeypatch, old.private_pem, f"{OLD_ID}={old_print}")
    before = signing.sign_any_query(URL, expires_at=now + 600)
    assert f"Key-Pair-Id={OLD_ID}" in before

    # Step 1: the new public key joins the group; step 2: its private key goes into SSM.
    group = {OLD_ID: old.public_pem, NEW_ID: new.public_pem}
    _sign_with(monkeypatch, new.private_pem, f"{OLD_ID}={old_print},{NEW_ID}={new_print}")
    after = signing.sign_any_query(URL, expires_at=now + 3600)
    assert f"Key-Pair-Id={NEW_ID}" in after
    assert signing.verify(after, now=now, public_keys=group)
    assert signing.verify(before, now=now, public_keys=group)  # issued before: still opens
    assert not signing.verify(before, now=now + 601, public_keys=group)  # until it expires

    # Step 3, once every old URL has expired: the old key leaves the group.
    _sign_with(monkeypatch, new.private_pem, f"{NEW_ID}={new_print}")
    only_new = {NEW_ID: new.public_pem}
    assert f"Key-Pair-Id={NEW_ID}" in signing.sign_any_query(URL, expires_at=now + 60)
    assert signing.verify(after, now=now, public_keys=only_new)
    assert not signing.verify(before, now=now, public_keys=only_new)


def test_a_url_under_one_key_id_with_another_keys_signature_fails(
    monkeypatch: pytest.MonkeyPatch, pairs: tuple[Pair, Pair]
) -> None:
    old, new = pairs
    _sign_with(monkeypatch, old.private_pem, f"{OLD_ID}={signing.fingerprint(old.public_pem)}")
    url = signing.sign_any_query(URL, expires_at=FAR)
    swapped = url.replace(f"Key-Pair-Id={OLD_ID}", f"Key-Pair-Id={NEW_ID}")
    group = {OLD_ID: old.public_pem, NEW_ID: new.public_pem}
    assert signing.verify(url, now=0, public_keys=group)
    assert not signing.verify(swapped, now=0, public_keys=group)


def test_signing_refuses_a_private_key_outside_the_key_group(
    monkeypatch: pytest.MonkeyPatch, pairs: tuple[Pair, Pair]
) -> None:
    old, new = pairs
    # The new private key went into SSM before its public key joined the group.
    _sign_with(monkeypatch, new.private_pem, f"{OLD_ID}={signing.fingerprint(old.public_pem)}")
    with pytest.raises(ConfigError, match="not in the key group"):
        signing.sign_any_query(URL, expires_at=FAR)


def test_a_key_from_the_stack_parameter_is_known_by_its_id_alone(
    monkeypatch: pytest.MonkeyPatch, pairs: tuple[Pair, Pair]
) -> None:
    old, _ = pairs
    _sign_with(monkeypatch, old.private_pem, f"{OLD_ID}=")
    assert f"Key-Pair-Id={OLD_ID}" in signing.sign_any_query(URL, expires_at=FAR)


def test_fingerprint_ignores_pem_whitespace(pairs: tuple[Pair, Pair]) -> None:
    old, new = pairs
    assert signing.fingerprint(old.public_pem) == signing.fingerprint(
        old.public_pem.strip().replace("\n", "\r\n")
    )
    assert signing.fingerprint(old.public_pem) != signing.fingerprint(new.public_pem)
