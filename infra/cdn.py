"""CloudFront in front of the private bucket: the only public way to image bytes."""

from __future__ import annotations

from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from constructs import Construct

from imgpro.imaging.formats import IMAGE_CSP
from infra.storage import ORIGINALS_PREFIX


class Cdn(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, bucket: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        # The origin path maps `/<uid>.<ext>` to the original at `o/<uid>.<ext>`, so `src`
        # URLs stay short and never reveal the bucket layout.
        originals = origins.S3BucketOrigin.with_origin_access_control(
            bucket, origin_path=f"/{ORIGINALS_PREFIX}"
        )
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
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="imgpro media",
            default_behavior=cloudfront.BehaviorOptions(
                origin=originals,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers_policy,
            ),
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        )

    @property
    def base_url(self) -> str:
        """Base of every `src`; a deploy-time token, not a literal."""
        return "https://" + self.distribution.distribution_domain_name
