from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template

pytestmark = pytest.mark.infra

DISTRIBUTION = "AWS::CloudFront::Distribution"
# AWS's managed "CachingOptimized" cache policy.
CACHING_OPTIMIZED_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def _only_logical_id(template: Template, resource_type: str) -> str:
    (logical_id,) = template.find_resources(resource_type)
    return logical_id


def test_distribution_reaches_the_bucket_through_origin_access_control(
    template: Template,
) -> None:
    oac = _only_logical_id(template, "AWS::CloudFront::OriginAccessControl")
    bucket = _only_logical_id(template, "AWS::S3::Bucket")
    template.has_resource_properties(
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": Match.object_like(
                {"OriginAccessControlOriginType": "s3", "SigningBehavior": "always"}
            )
        },
    )
    template.has_resource_properties(
        DISTRIBUTION,
        {
            "DistributionConfig": Match.object_like(
                {
                    "Origins": [
                        Match.object_like(
                            {
                                "DomainName": {"Fn::GetAtt": [bucket, "RegionalDomainName"]},
                                "OriginAccessControlId": {"Fn::GetAtt": [oac, "Id"]},
                                # No legacy origin access identity alongside OAC.
                                "S3OriginConfig": {"OriginAccessIdentity": ""},
                            }
                        )
                    ]
                }
            )
        },
    )


def test_distribution_serves_originals_from_the_o_prefix(template: Template) -> None:
    template.has_resource_properties(
        DISTRIBUTION,
        {
            "DistributionConfig": Match.object_like(
                {"Origins": [Match.object_like({"OriginPath": "/o"})]}
            )
        },
    )


def test_only_this_distribution_may_read_objects(template: Template) -> None:
    distribution = _only_logical_id(template, DISTRIBUTION)
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Action": "s3:GetObject",
                                "Principal": {"Service": "cloudfront.amazonaws.com"},
                                "Condition": {
                                    "StringEquals": {
                                        "AWS:SourceArn": {
                                            "Fn::Join": [
                                                "",
                                                Match.array_with([{"Ref": distribution}]),
                                            ]
                                        }
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_distribution_redirects_http_to_https(template: Template) -> None:
    template.has_resource_properties(
        DISTRIBUTION,
        {
            "DistributionConfig": Match.object_like(
                {
                    "DefaultCacheBehavior": Match.object_like(
                        {"ViewerProtocolPolicy": "redirect-to-https"}
                    )
                }
            )
        },
    )


def test_distribution_uses_the_caching_optimized_policy(template: Template) -> None:
    template.has_resource_properties(
        DISTRIBUTION,
        {
            "DistributionConfig": Match.object_like(
                {"DefaultCacheBehavior": Match.object_like({"CachePolicyId": CACHING_OPTIMIZED_ID})}
            )
        },
    )


def test_distribution_uses_price_class_100(template: Template) -> None:
    template.has_resource_properties(
        DISTRIBUTION,
        {"DistributionConfig": Match.object_like({"PriceClass": "PriceClass_100"})},
    )


def test_cdn_base_url_output_is_the_distribution_domain_over_https(template: Template) -> None:
    distribution = _only_logical_id(template, DISTRIBUTION)
    template.has_output(
        "CdnBaseUrl",
        {"Value": {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]}},
    )


def test_images_are_served_with_the_csp_and_nosniff(template: Template) -> None:
    from imgpro.imaging.formats import IMAGE_CSP

    template.has_resource_properties(
        "AWS::CloudFront::ResponseHeadersPolicy",
        {
            "ResponseHeadersPolicyConfig": Match.object_like(
                {
                    "SecurityHeadersConfig": {
                        "ContentSecurityPolicy": {
                            "ContentSecurityPolicy": IMAGE_CSP,
                            "Override": True,
                        },
                        "ContentTypeOptions": {"Override": True},
                    }
                }
            )
        },
    )
    template.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "DefaultCacheBehavior": Match.object_like(
                        {"ResponseHeadersPolicyId": Match.any_value()}
                    )
                }
            )
        },
    )
