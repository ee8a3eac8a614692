"""Operations options: throttling, log retention, CORS, custom domains, access logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from imgpro import config
from infra.options import OptionError
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

Synthesize = Callable[[dict[str, Any]], ImgProStack]
STAGE = "AWS::ApiGateway::Stage"
CERT_US = "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"
CERT_EU = "arn:aws:acm:eu-west-1:123456789012:certificate/abc-123"


def _template(synthesize: Synthesize, context: dict[str, Any], **options: Any) -> Template:
    return Template.from_stack(synthesize({**context, **options}))


def _stage_throttle(template: Template) -> tuple[int, int]:
    (stage,) = template.find_resources(STAGE).values()
    (setting,) = stage["Properties"]["MethodSettings"]
    return setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]


def test_stage_is_throttled_by_default(template: Template) -> None:
    assert _stage_throttle(template) == (100, 200)


def test_throttling_comes_from_context(synthesize: Synthesize, app_context: dict) -> None:
    template = _template(
        synthesize, app_context, **{"imgpro:throttleRate": "20", "imgpro:throttleBurst": 40}
    )
    assert _stage_throttle(template) == (20, 40)


def test_throttling_refuses_nonsense(synthesize: Synthesize, app_context: dict) -> None:
    with pytest.raises(OptionError, match="imgpro:throttleRate"):
        synthesize({**app_context, "imgpro:throttleRate": "fast"})


def test_every_log_group_keeps_30_days_and_outlives_the_stack(template: Template) -> None:
    groups = template.find_resources("AWS::Logs::LogGroup")
    functions = template.find_resources("AWS::Lambda::Function")
    assert len(groups) >= len(functions) - 1  # all but aws-cdk-lib's notifications handler
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 30
        assert group["DeletionPolicy"] == "Retain"


def test_log_retention_and_dev_removal(synthesize: Synthesize, app_context: dict) -> None:
    template = _template(
        synthesize,
        app_context,
        **{"imgpro:logRetentionDays": 7, "imgpro:dev": "true", "imgpro:apiLogs": "access"},
    )
    groups = template.find_resources("AWS::Logs::LogGroup")
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 7
        assert group["DeletionPolicy"] == "Delete"


def test_log_retention_must_be_one_cloudwatch_accepts(
    synthesize: Synthesize, app_context: dict
) -> None:
    with pytest.raises(OptionError, match="imgpro:logRetentionDays"):
        synthesize({**app_context, "imgpro:logRetentionDays": 31})


def test_api_logs_are_off_by_default(template: Template) -> None:
    (stage,) = template.find_resources(STAGE).values()
    assert "AccessLogSetting" not in stage["Properties"]


def test_api_access_logs_are_json(synthesize: Synthesize, app_context: dict) -> None:
    template = _template(synthesize, app_context, **{"imgpro:apiLogs": "full"})
    (stage,) = template.find_resources(STAGE).values()
    log_format = stage["Properties"]["AccessLogSetting"]["Format"]
    assert '"requestId": "$context.requestId"' in log_format
    (setting,) = stage["Properties"]["MethodSettings"]
    assert setting["LoggingLevel"] == "ERROR"
    assert setting["DataTraceEnabled"] is False


def test_media_bucket_and_cdn_log_into_the_log_bucket(
    template: Template, stack: ImgProStack
) -> None:
    logs = stack.get_logical_id(stack.storage.log_bucket.node.default_child)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"LoggingConfiguration": {"DestinationBucketName": {"Ref": logs}, "LogFilePrefix": "s3/"}},
    )
    template.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "Logging": Match.object_like(
                        {
                            "Bucket": {"Fn::GetAtt": [logs, "RegionalDomainName"]},
                            "Prefix": "cdn/",
                        }
                    )
                }
            )
        },
    )


def test_access_logs_can_be_turned_off(synthesize: Synthesize, app_context: dict) -> None:
    template = _template(synthesize, app_context, **{"imgpro:accessLogs": "false"})
    template.resource_count_is("AWS::S3::Bucket", 1)


def test_cors_is_off_by_default(template: Template) -> None:
    methods = template.find_resources("AWS::ApiGateway::Method")
    assert all(m["Properties"]["HttpMethod"] != "OPTIONS" for m in methods.values())
    assert "Access-Control-Allow-Origin" not in str(
        template.find_resources("AWS::ApiGateway::GatewayResponse")
    )


def test_cors_origins_reach_preflights_functions_and_gateway_errors(
    synthesize: Synthesize, app_context: dict
) -> None:
    stack = synthesize({**app_context, "imgpro:corsOrigins": ["https://app.example"]})
    template = Template.from_stack(stack)
    methods = template.find_resources("AWS::ApiGateway::Method")
    assert any(m["Properties"]["HttpMethod"] == "OPTIONS" for m in methods.values())
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        template.has_resource_properties(
            "AWS::ApiGateway::GatewayResponse",
            {
                "ResponseType": response_type,
                "ResponseParameters": Match.object_like(
                    {
                        "gatewayresponse.header.Access-Control-Allow-Origin": (
                            "'https://app.example'"
                        )
                    }
                ),
            },
        )
    function = stack.get_logical_id(stack.functions["get_media"].node.default_child)
    variables = template.find_resources("AWS::Lambda::Function")[function]["Properties"][
        "Environment"
    ]["Variables"]
    assert variables[config.CORS_ORIGINS] == "https://app.example"


def test_custom_domains(synthesize: Synthesize, app_context: dict) -> None:
    template = _template(
        synthesize,
        app_context,
        **{
            "imgpro:apiDomain": "api.example.com",
            "imgpro:apiCertificateArn": CERT_EU,
            "imgpro:cdnDomain": "img.example.com",
            "imgpro:cdnCertificateArn": CERT_US,
        },
    )
    template.has_resource_properties(
        "AWS::ApiGateway::DomainName",
        {"DomainName": "api.example.com", "SecurityPolicy": "TLS_1_2"},
    )
    template.resource_count_is("AWS::ApiGateway::BasePathMapping", 1)
    template.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "Aliases": ["img.example.com"],
                    "ViewerCertificate": Match.object_like(
                        {"AcmCertificateArn": CERT_US, "MinimumProtocolVersion": "TLSv1.2_2021"}
                    ),
                }
            )
        },
    )
    assert "https://img.example.com" in str(template.find_resources("AWS::Lambda::Function"))


def test_cdn_certificate_must_be_in_us_east_1(synthesize: Synthesize, app_context: dict) -> None:
    with pytest.raises(OptionError, match="us-east-1"):
        synthesize(
            {
                **app_context,
                "imgpro:cdnDomain": "img.example.com",
                "imgpro:cdnCertificateArn": CERT_EU,
            }
        )


def test_a_domain_needs_its_certificate(synthesize: Synthesize, app_context: dict) -> None:
    with pytest.raises(OptionError, match="go together"):
        synthesize({**app_context, "imgpro:apiDomain": "api.example.com"})
