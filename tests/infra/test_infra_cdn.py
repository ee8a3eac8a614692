from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from imgpro.imaging.formats import IMAGE_CSP
from imgpro.keys import VIEWER_URL_HEADER
from infra.cdn import ORIGIN_SHIELD_CONTEXT_KEY, VIEWER_FUNCTION_FILE
from infra.resize import TIMEOUT as RESIZE_TIMEOUT
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

DISTRIBUTION = "AWS::CloudFront::Distribution"
OAC = "AWS::CloudFront::OriginAccessControl"


def _only_logical_id(template: Template, resource_type: str, props: Any = None) -> str:
    (logical_id,) = template.find_resources(resource_type, props)
    return logical_id


def _oac_id(template: Template, origin_type: str) -> str:
    return _only_logical_id(
        template,
        OAC,
        {
            "Properties": {
                "OriginAccessControlConfig": Match.object_like(
                    {"OriginAccessControlOriginType": origin_type}
                )
            }
        },
    )


def _distribution_config(template: Template) -> dict[str, Any]:
    (distribution,) = template.find_resources(DISTRIBUTION).values()
    return distribution["Properties"]["DistributionConfig"]


def _behaviors(template: Template) -> dict[str, dict[str, Any]]:
    """Every cache behavior by path pattern; the default one under "default"."""
    config = _distribution_config(template)
    behaviors = {b["PathPattern"]: b for b in config.get("CacheBehaviors", [])}
    return {"default": config["DefaultCacheBehavior"], **behaviors}


def _origin_ids(template: Template) -> dict[str, str]:
    """Origin id of the bucket origin ("s3") and of the resize function ("lambda")."""
    by_oac = {
        _oac_id(template, "s3"): "s3",
        _oac_id(template, "lambda"): "lambda",
    }
    return {
        by_oac[origin["OriginAccessControlId"]["Fn::GetAtt"][0]]: origin["Id"]
        for origin in _distribution_config(template)["Origins"]
    }


@pytest.fixture(scope="module")
def resize_url_id(stack: ImgProStack) -> str:
    return stack.get_logical_id(stack.resizer.function_url.node.default_child)


def test_distribution_has_a_public_and_a_private_behavior(template: Template) -> None:
    assert set(_behaviors(template)) == {"default", "/private/*"}


def test_public_behavior_needs_no_signature(template: Template) -> None:
    template.has_resource_properties(
        DISTRIBUTION,
        {
            "DistributionConfig": Match.object_like(
                {"DefaultCacheBehavior": Match.object_like({"TrustedKeyGroups": Match.absent()})}
            )
        },
    )


def test_private_behavior_trusts_only_the_signing_key_group(
    template: Template, stack: ImgProStack
) -> None:
    key_group = stack.get_logical_id(stack.signing.key_group.node.default_child)
    template.has_resource_properties(
        DISTRIBUTION,
        {
            "DistributionConfig": Match.object_like(
                {
                    "CacheBehaviors": [
                        Match.object_like(
                            {"PathPattern": "/private/*", "TrustedKeyGroups": [{"Ref": key_group}]}
                        )
                    ]
                }
            )
        },
    )


@pytest.mark.parametrize("behavior", ["default", "/private/*"])
def test_behavior_runs_the_viewer_functions_on_viewer_request_and_response(
    behavior: str, template: Template, stack: ImgProStack
) -> None:
    on_request = stack.get_logical_id(stack.cdn.viewer_function.node.default_child)
    on_response = stack.get_logical_id(stack.cdn.viewer_response_function.node.default_child)
    assert _behaviors(template)[behavior]["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [on_request, "FunctionARN"]}},
        {
            "EventType": "viewer-response",
            "FunctionARN": {"Fn::GetAtt": [on_response, "FunctionARN"]},
        },
    ]


def test_both_viewer_functions_run_cdn_function_js(template: Template) -> None:
    functions = template.find_resources("AWS::CloudFront::Function")
    assert len(functions) == 2
    for function in functions.values():
        assert function["Properties"]["FunctionCode"] == VIEWER_FUNCTION_FILE.read_text()


@pytest.mark.parametrize("behavior", ["default", "/private/*"])
def test_origin_requests_carry_the_viewer_url_header_and_nothing_else(
    behavior: str, template: Template
) -> None:
    """The resize function redirects a variant too big for its response to the viewer's
    URL, which only this header tells it; nothing of it is in the cache key."""
    policy = _only_logical_id(template, "AWS::CloudFront::OriginRequestPolicy")
    assert _behaviors(template)[behavior]["OriginRequestPolicyId"] == {"Ref": policy}
    template.has_resource_properties(
        "AWS::CloudFront::OriginRequestPolicy",
        {
            "OriginRequestPolicyConfig": Match.object_like(
                {
                    "HeadersConfig": {
                        "HeaderBehavior": "whitelist",
                        "Headers": [VIEWER_URL_HEADER],
                    },
                    "CookiesConfig": {"CookieBehavior": "none"},
                    "QueryStringsConfig": {"QueryStringBehavior": "none"},
                }
            )
        },
    )


@pytest.mark.parametrize("behavior", ["default", "/private/*"])
def test_behavior_serves_images_over_https_for_get_and_head_only_uncompressed(
    behavior: str, template: Template
) -> None:
    properties = _behaviors(template)[behavior]
    assert properties["ViewerProtocolPolicy"] == "redirect-to-https"
    assert properties["AllowedMethods"] == ["GET", "HEAD"]
    assert properties["CachedMethods"] == ["GET", "HEAD"]
    assert properties["Compress"] is False


@pytest.mark.parametrize("behavior", ["default", "/private/*"])
def test_behavior_keys_the_cache_on_the_media_cache_policy(
    behavior: str, template: Template
) -> None:
    policy = _only_logical_id(template, "AWS::CloudFront::CachePolicy")
    assert _behaviors(template)[behavior]["CachePolicyId"] == {"Ref": policy}


def test_cache_key_is_the_rewritten_path_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudFront::CachePolicy",
        {
            "CachePolicyConfig": Match.object_like(
                {
                    "MinTTL": 0,
                    "ParametersInCacheKeyAndForwardedToOrigin": {
                        "HeadersConfig": {"HeaderBehavior": "none"},
                        "CookiesConfig": {"CookieBehavior": "none"},
                        "QueryStringsConfig": {"QueryStringBehavior": "none"},
                        "EnableAcceptEncodingGzip": False,
                        "EnableAcceptEncodingBrotli": False,
                    },
                }
            )
        },
    )


@pytest.mark.parametrize("behavior", ["default", "/private/*"])
def test_behavior_serves_images_with_the_csp_and_nosniff(behavior: str, template: Template) -> None:
    policy = _only_logical_id(template, "AWS::CloudFront::ResponseHeadersPolicy")
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
    assert _behaviors(template)[behavior]["ResponseHeadersPolicyId"] == {"Ref": policy}


def test_viewer_function_is_cdn_function_js_on_runtime_2(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudFront::Function",
        {
            "FunctionCode": VIEWER_FUNCTION_FILE.read_text(),
            "FunctionConfig": Match.object_like({"Runtime": "cloudfront-js-2.0"}),
            "AutoPublish": True,
        },
    )


def test_origin_group_fails_over_from_the_bucket_to_the_resize_function_on_403_and_404(
    template: Template,
) -> None:
    origins = _origin_ids(template)
    group = {
        "Id": Match.any_value(),
        "FailoverCriteria": {"StatusCodes": {"Items": [403, 404], "Quantity": 2}},
        "Members": {
            "Items": [{"OriginId": origins["s3"]}, {"OriginId": origins["lambda"]}],
            "Quantity": 2,
        },
    }
    template.has_resource_properties(
        DISTRIBUTION,
        {
            "DistributionConfig": Match.object_like(
                {"OriginGroups": {"Items": [group], "Quantity": 1}}
            )
        },
    )


@pytest.mark.parametrize("behavior", ["default", "/private/*"])
def test_behavior_targets_the_origin_group(behavior: str, template: Template) -> None:
    (group,) = _distribution_config(template)["OriginGroups"]["Items"]
    assert _behaviors(template)[behavior]["TargetOriginId"] == group["Id"]


def test_distribution_reaches_the_bucket_through_s3_origin_access_control(
    template: Template, stack: ImgProStack
) -> None:
    bucket = stack.get_logical_id(stack.storage.bucket.node.default_child)
    template.has_resource_properties(
        OAC,
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
                    "Origins": Match.array_with(
                        [
                            {
                                "Id": Match.any_value(),
                                "DomainName": {"Fn::GetAtt": [bucket, "RegionalDomainName"]},
                                "OriginAccessControlId": {
                                    "Fn::GetAtt": [_oac_id(template, "s3"), "Id"]
                                },
                                # No legacy origin access identity alongside OAC, and no
                                # origin path: the viewer function writes the full key.
                                "S3OriginConfig": {"OriginAccessIdentity": ""},
                                "OriginShield": Match.any_value(),
                            }
                        ]
                    )
                }
            )
        },
    )


def test_distribution_reaches_the_resize_function_url_through_lambda_origin_access_control(
    template: Template, resize_url_id: str
) -> None:
    template.has_resource_properties(
        OAC,
        {
            "OriginAccessControlConfig": Match.object_like(
                {"OriginAccessControlOriginType": "lambda", "SigningBehavior": "always"}
            )
        },
    )
    template.has_resource_properties(
        DISTRIBUTION,
        {
            "DistributionConfig": Match.object_like(
                {
                    "Origins": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "DomainName": {
                                        "Fn::Select": [
                                            2,
                                            {
                                                "Fn::Split": [
                                                    "/",
                                                    {"Fn::GetAtt": [resize_url_id, "FunctionUrl"]},
                                                ]
                                            },
                                        ]
                                    },
                                    "OriginAccessControlId": {
                                        "Fn::GetAtt": [_oac_id(template, "lambda"), "Id"]
                                    },
                                    "CustomOriginConfig": Match.object_like(
                                        {"OriginProtocolPolicy": "https-only"}
                                    ),
                                }
                            )
                        ]
                    )
                }
            )
        },
    )


def test_cloudfront_waits_for_a_cold_resize_to_finish(template: Template) -> None:
    origins = _distribution_config(template)["Origins"]
    (function_origin,) = [origin for origin in origins if "CustomOriginConfig" in origin]
    read_timeout = function_origin["CustomOriginConfig"]["OriginReadTimeout"]
    assert RESIZE_TIMEOUT.to_seconds() < read_timeout <= 60  # 60: CloudFront's default cap


def test_only_this_distribution_may_invoke_the_resize_function(
    template: Template, resize_url_id: str
) -> None:
    distribution = _only_logical_id(template, DISTRIBUTION)
    permissions = template.find_resources(
        "AWS::Lambda::Permission",
        {
            "Properties": Match.object_like(
                {"FunctionName": {"Fn::GetAtt": [resize_url_id, "FunctionArn"]}}
            )
        },
    )
    source_arn = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":cloudfront::",
                {"Ref": "AWS::AccountId"},
                ":distribution/",
                {"Ref": distribution},
            ],
        ]
    }
    # Function URLs need both actions in the resource policy; the second only via the URL.
    assert sorted(
        (p["Properties"]["Action"], p["Properties"].get("InvokedViaFunctionUrl", False))
        for p in permissions.values()
    ) == [("lambda:InvokeFunction", True), ("lambda:InvokeFunctionUrl", False)]
    for permission in permissions.values():
        assert permission["Properties"]["Principal"] == "cloudfront.amazonaws.com"
        assert permission["Properties"]["SourceArn"] == source_arn


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


def test_cloudfront_may_read_media_keys_and_nothing_else(
    template: Template, stack: ImgProStack
) -> None:
    bucket = stack.get_logical_id(stack.storage.bucket.node.default_child)

    def objects(pattern: str) -> dict[str, Any]:
        return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{pattern}"]]}

    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Effect": "Deny",
                            "Action": "s3:GetObject",
                            "Principal": {"Service": "cloudfront.amazonaws.com"},
                            "NotResource": [
                                objects("o/*"),
                                objects("private/o/*"),
                                objects("v/*"),
                                objects("private/v/*"),
                            ],
                        }
                    ]
                )
            }
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


def test_distribution_id_is_a_stack_output(template: Template) -> None:
    distribution = _only_logical_id(template, DISTRIBUTION)
    template.has_output("DistributionId", {"Value": {"Ref": distribution}})


# --- one render per variant, cheap unknown ids -------------------------------------------


def _origin_shields(template: Template) -> list[Any]:
    return [origin.get("OriginShield") for origin in _distribution_config(template)["Origins"]]


def test_both_origins_sit_behind_origin_shield_in_the_stack_region_by_default(
    template: Template,
) -> None:
    # Every edge's miss goes through one regional cache, which collapses concurrent
    # requests for a variant into one render.
    assert (
        _origin_shields(template)
        == [{"Enabled": True, "OriginShieldRegion": {"Ref": "AWS::Region"}}] * 2
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("false", [{"Enabled": False}] * 2),
        ("eu-central-1", [{"Enabled": True, "OriginShieldRegion": "eu-central-1"}] * 2),
    ],
)
def test_origin_shield_is_chosen_by_context(
    value: Any,
    expected: list[Any],
    synthesize: Callable[[dict[str, Any]], ImgProStack],
    app_context: dict[str, Any],
) -> None:
    stack = synthesize({**app_context, ORIGIN_SHIELD_CONTEXT_KEY: value})
    assert _origin_shields(Template.from_stack(stack)) == expected


@pytest.mark.parametrize("value", ["maybe", "EU", "us-east"])
def test_a_malformed_origin_shield_option_stops_synth(
    value: str, synthesize: Callable[[dict[str, Any]], ImgProStack], app_context: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=ORIGIN_SHIELD_CONTEXT_KEY):
        synthesize({**app_context, ORIGIN_SHIELD_CONTEXT_KEY: value})


def test_origin_404s_are_cached_for_minutes_and_403s_not_at_all(template: Template) -> None:
    # An unknown or deleted id costs one resize invocation per URL and 5 minutes, not one
    # per 10 seconds (CloudFront's default); only the caching changes, not the answers.
    responses = _distribution_config(template)["CustomErrorResponses"]
    assert sorted(responses, key=lambda r: r["ErrorCode"]) == [
        {"ErrorCode": 403, "ErrorCachingMinTTL": 0},
        {"ErrorCode": 404, "ErrorCachingMinTTL": 300},
    ]


def test_private_media_stays_out_of_edge_caches(template: Template) -> None:
    # A minimum TTL of 0 lets CloudFront honour `Cache-Control: private`, so no edge keeps
    # private bytes: invalidations need only the public paths (imgpro.cdn.edge_paths).
    (policy,) = template.find_resources("AWS::CloudFront::CachePolicy").values()
    assert policy["Properties"]["CachePolicyConfig"]["MinTTL"] == 0
