"""CloudFront in front of the private bucket: the only public way to image bytes."""

from __future__ import annotations

from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.storage import ORIGINALS_PREFIX


class Cdn(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, bucket: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        # The origin path maps `/<uid>.<ext>` to the original at `o/<uid>.<ext>`, so `src`
        # URLs stay short and never reveal the bucket layout.
        originals = origins.S3BucketOrigin.with_origin_access_control(
            bucket, origin_path=f"/{ORIGINALS_PREFIX}"
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="imgpro media",
            default_behavior=cloudfront.BehaviorOptions(
                origin=originals,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            ),
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        )

    @property
    def base_url(self) -> str:
        """Base of every `src`; a deploy-time token, not a literal."""
        return "https://" + self.distribution.distribution_domain_name
