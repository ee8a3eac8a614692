"""CloudFront in front of the private bucket: the only public way to image bytes.

A viewer-request function (`cdn_function.js`) maps each viewer URL to the S3 key of the
bytes to serve, size and format included. An origin group tries the bucket first and, when
the key is not there yet, the resize function, which makes the variant, stores it and
returns it: a variant that exists never invokes a function. Origin Shield (on by default,
`imgpro:originShield`) funnels every edge's misses through one regional cache, so that
concurrent first requests for a variant collapse into one render. Origin 404s (unknown
or deleted ids) are cached for minutes, not CloudFront's default 10 seconds. Private media
is under `/private/*`, which only a signed URL opens. The same file, run on viewer
responses, adds `Vary: Accept` to variants. See docs/cdn.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from imgpro.imaging.formats import IMAGE_CSP
from imgpro.keys import ORIGINALS, PRIVATE, VARIANTS, VIEWER_URL_HEADER
from infra.functions import cdn_base_url
from infra.nag import acknowledge
from infra.options import OptionError, text
from infra.storage import ACCESS_LOGS_OFF, CDN_LOG_PREFIX, both_sides

VIEWER_FUNCTION_FILE = Path(__file__).with_name("cdn_function.js")
# Viewer paths of private media start with the same `private/` as their keys.
PRIVATE_PATH_PATTERN = f"/{PRIVATE}*"
# The bucket answers CloudFront 403, not 404, for a key it does not have: origin access
# control may only GetObject, and S3 hides a missing key from callers that cannot list.
FAILOVER_STATUS_CODES = (403, 404)
# Lambda may spend up to 10 s initializing a cold function before its own timeout starts;
# CloudFront's default 30 s would cut off a slow first request the function still serves.
_INIT_ALLOWANCE = cdk.Duration.seconds(10)

ORIGIN_SHIELD_CONTEXT_KEY = "imgpro:originShield"
"""`true` (default: in the stack's region), `false`, or the region to put it in."""
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
CDN_DOMAIN_CONTEXT_KEY = "imgpro:cdnDomain"
CDN_CERTIFICATE_CONTEXT_KEY = "imgpro:cdnCertificateArn"
_CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[A-Za-z0-9-]+")
NOT_FOUND_CACHE = cdk.Duration.minutes(5)
"""How long an edge keeps an origin 404 (an id the table does not have, a deleted or
private item's public URL): a scan or a popular deleted image costs one resize
invocation per URL and 5 minutes, not one per 10 seconds. A visibility change
invalidates the public side, so no 404 outlives a change to public."""
FORBIDDEN_CACHE = cdk.Duration.seconds(0)
"""An origin 403 only comes from a fault between CloudFront and the resize function (its
origin access refused; the bucket's own 403 fails over): never kept, so a fix shows at
once."""


class Cdn(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        resize_url: lambda_.IFunctionUrl,
        resize_timeout: cdk.Duration,
        key_group: cloudfront.IKeyGroup,
        origin_shield_region: str | None = None,
        log_bucket: s3.IBucket | None = None,
        domain_name: str | None = None,
        certificate: acm.ICertificate | None = None,
    ) -> None:
        """`origin_shield_region`: the region of Origin Shield in front of both origins,
        None for none (`origin_shield_region(scope)` reads it from the context)."""
        super().__init__(scope, construct_id)
        # What the local stack's delivery sends: a stored SVG is sanitized, and this CSP
        # and nosniff make sure that even a payload the sanitizer missed cannot run.
        self.headers_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "ImageHeaders",
            comment="imgpro: images never run script or get sniffed",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=IMAGE_CSP, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            ),
        )
        # The viewer function writes size and format into the path, so the path alone is
        # the cache key: no header (Accept would split the cache per browser), no cookie,
        # no query string (signatures and cache busters would make every URL a miss).
        self.cache_policy = cloudfront.CachePolicy(
            self,
            "MediaCache",
            comment="imgpro: media keyed by the rewritten path only",
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            # Images are already compressed; there is no second encoding to keep apart.
            enable_accept_encoding_gzip=False,
            enable_accept_encoding_brotli=False,
            # 0 lets CloudFront honour the `private` Cache-Control of private media and
            # keep it out of shared edge caches; public media says a year itself.
            min_ttl=cdk.Duration.seconds(0),
            default_ttl=cdk.Duration.days(1),
            max_ttl=cdk.Duration.days(365),
        )
        self.viewer_function = cloudfront.Function(
            self,
            "ViewerRequest",
            comment="imgpro: checks media URLs and maps them to S3 keys",
            code=cloudfront.FunctionCode.from_file(file_path=str(VIEWER_FUNCTION_FILE)),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        # The same code, on responses: `Vary: Accept` for variants only. A response
        # headers policy would add it to originals too (it cannot tell them apart: both
        # are /<id>.<ext>), and S3 metadata cannot carry a Vary header.
        self.viewer_response_function = cloudfront.Function(
            self,
            "ViewerResponse",
            comment="imgpro: Vary: Accept on size variants",
            code=cloudfront.FunctionCode.from_file(file_path=str(VIEWER_FUNCTION_FILE)),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        # The viewer's path and query, which the viewer function copies into a header, go
        # to the origin (not into the cache key): the resize function redirects a variant
        # too big for a Lambda response back to that URL.
        self.origin_request_policy = cloudfront.OriginRequestPolicy(
            self,
            "ViewerUrlToOrigin",
            comment="imgpro: the viewer URL, for the resize function's redirect",
            header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list(VIEWER_URL_HEADER),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.none(),
        )
        # Both origins behind the same Origin Shield: CloudFront collapses concurrent
        # requests for one cache key at each layer, and with the shield every edge's miss
        # reaches the origin through one regional cache, so a variant wanted everywhere at
        # once is rendered once. Off, each regional edge cache may render it.
        shield = {
            "origin_shield_enabled": origin_shield_region is not None,
            **({"origin_shield_region": origin_shield_region} if origin_shield_region else {}),
        }
        media = origins.OriginGroup(
            # No origin path: the viewer function writes the full key path.
            primary_origin=origins.S3BucketOrigin.with_origin_access_control(bucket, **shield),
            fallback_origin=origins.FunctionUrlOrigin.with_origin_access_control(
                resize_url,
                read_timeout=cdk.Duration.seconds(
                    resize_timeout.to_seconds() + _INIT_ALLOWANCE.to_seconds()
                ),
                **shield,
            ),
            fallback_status_codes=list(FAILOVER_STATUS_CODES),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="imgpro media",
            default_behavior=self._media_behavior(media),
            additional_behaviors={
                PRIVATE_PATH_PATTERN: self._media_behavior(media, trusted_key_groups=[key_group])
            },
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            # Only how long errors from the origin are kept; the answers stay the origin's.
            error_responses=[
                cloudfront.ErrorResponse(http_status=404, ttl=NOT_FOUND_CACHE),
                cloudfront.ErrorResponse(http_status=403, ttl=FORBIDDEN_CACHE),
            ],
            # Standard logs (`imgpro:accessLogs`): no cookies, they carry none of ours.
            enable_logging=log_bucket is not None,
            log_bucket=log_bucket,
            log_file_prefix=CDN_LOG_PREFIX if log_bucket is not None else None,
            domain_names=[domain_name] if domain_name else None,
            certificate=certificate,
            minimum_protocol_version=(
                cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None
            ),
        )
        _refuse_unserved_keys(bucket)
        self._domain_name = domain_name
        self._acknowledge_findings(logged=log_bucket is not None, custom_domain=bool(certificate))

    def _acknowledge_findings(self, *, logged: bool, custom_domain: bool) -> None:
        if not logged:
            acknowledge(
                self.distribution,
                "CFR3",
                f"Standard logs turned off by the operator (-c {ACCESS_LOGS_OFF}).",
            )
        if not custom_domain:
            acknowledge(
                self.distribution,
                "CFR4",
                "On the default *.cloudfront.net certificate CloudFront fixes the security"
                " policy at TLSv1 and no other can be chosen; with a custom domain"
                " (imgpro:cdnDomain) the stack sets TLSv1.2_2021.",
            )
        acknowledge(
            self.distribution,
            "CFR1",
            "A public image host serves every country; an operator who must restrict some"
            " can add a geo restriction.",
        )
        acknowledge(
            self.distribution,
            "CFR2",
            "No WAF by default (a fixed monthly cost per web ACL): only GET/HEAD reach the"
            " origins, existing objects never invoke a function, and private media needs a"
            " signed URL.",
        )

    def _media_behavior(
        self,
        origin: cloudfront.IOrigin,
        *,
        trusted_key_groups: list[cloudfront.IKeyGroup] | None = None,
    ) -> cloudfront.BehaviorOptions:
        return cloudfront.BehaviorOptions(
            origin=origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            # Origin groups fail over only for GET, HEAD and OPTIONS; images need no more.
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
            cache_policy=self.cache_policy,
            origin_request_policy=self.origin_request_policy,
            response_headers_policy=self.headers_policy,
            # Images are compressed already; gzip would spend CPU to gain nothing.
            compress=False,
            function_associations=[
                cloudfront.FunctionAssociation(
                    function=self.viewer_function,
                    event_type=cloudfront.FunctionEventType.VIEWER_REQUEST,
                ),
                cloudfront.FunctionAssociation(
                    function=self.viewer_response_function,
                    event_type=cloudfront.FunctionEventType.VIEWER_RESPONSE,
                ),
            ],
            trusted_key_groups=trusted_key_groups,
        )

    @property
    def base_url(self) -> str:
        """Base of every `src`; a deploy-time token, not a literal (the custom domain's
        own name when there is one)."""
        if self._domain_name:
            return f"https://{self._domain_name}"
        return cdn_base_url(self.distribution)


def cdn_domain(scope: Construct) -> tuple[str | None, acm.ICertificate | None]:
    """`imgpro:cdnDomain` with `imgpro:cdnCertificateArn`, checked at synth: CloudFront
    takes certificates from us-east-1 only, whatever the stack's region."""
    domain = text(scope, CDN_DOMAIN_CONTEXT_KEY)
    arn = text(scope, CDN_CERTIFICATE_CONTEXT_KEY)
    if not domain and not arn:
        return None, None
    if not (domain and arn):
        raise OptionError(
            f"CDK context {CDN_DOMAIN_CONTEXT_KEY} and {CDN_CERTIFICATE_CONTEXT_KEY} go together"
        )
    match = _CERTIFICATE_ARN.fullmatch(arn)
    if not match:
        raise OptionError(f"CDK context {CDN_CERTIFICATE_CONTEXT_KEY}: not an ACM ARN: {arn!r}")
    if match.group(1) != "us-east-1":
        raise OptionError(
            f"CDK context {CDN_CERTIFICATE_CONTEXT_KEY}: CloudFront uses certificates from"
            f" us-east-1 only; this one is in {match.group(1)}. Request (or import) it in"
            " us-east-1, whatever region the stack is in."
        )
    return domain, acm.Certificate.from_certificate_arn(scope, "CdnCertificate", arn)


def origin_shield_region(scope: Construct) -> str | None:
    """The `imgpro:originShield` context value, checked at synth: the region to run Origin
    Shield in (the stack's own by default), or None when it is `false`/`off`."""
    raw = scope.node.try_get_context(ORIGIN_SHIELD_CONTEXT_KEY)
    value = "true" if raw is None else str(raw).strip().lower()
    if value in ("true", "on", ""):
        return cdk.Stack.of(scope).region
    if value in ("false", "off"):
        return None
    if _REGION.fullmatch(value):
        return value
    raise ValueError(
        f"CDK context {ORIGIN_SHIELD_CONTEXT_KEY}: expected true, false or a region code "
        f"such as us-east-1, got {raw!r}"
    )


def _refuse_unserved_keys(bucket: s3.IBucket) -> None:
    """CloudFront may read media objects and nothing else, whatever the viewer function
    does: origin access control grants it the whole bucket, unprocessed uploads included."""
    served = [*both_sides(ORIGINALS), *both_sides(VARIANTS)]
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
            actions=["s3:GetObject"],
            not_resources=[bucket.arn_for_objects(pattern) for pattern in served],
        )
    )
