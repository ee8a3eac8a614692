from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template

from imgpro.routes import WORKERS
from infra.stack import ImgProStack

pytestmark = pytest.mark.infra

TABLE = "AWS::DynamoDB::Table"
BUCKET = "AWS::S3::Bucket"


def test_table_keys_are_generic_pk_and_sk(template: Template) -> None:
    template.has_resource_properties(
        TABLE,
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": Match.array_with(
                [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ]
            ),
        },
    )


def test_table_bills_on_demand(template: Template) -> None:
    template.has_resource_properties(TABLE, {"BillingMode": "PAY_PER_REQUEST"})


def test_table_has_one_overloaded_gsi_projecting_all(template: Template) -> None:
    template.has_resource_properties(
        TABLE,
        {
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            "AttributeDefinitions": Match.array_with(
                [
                    {"AttributeName": "gsi1pk", "AttributeType": "S"},
                    {"AttributeName": "gsi1sk", "AttributeType": "S"},
                ]
            ),
        },
    )


def test_table_has_ttl_on_expires_at(template: Template) -> None:
    template.has_resource_properties(
        TABLE, {"TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True}}
    )


def test_table_has_point_in_time_recovery(template: Template) -> None:
    template.has_resource_properties(
        TABLE,
        {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
    )


def test_table_streams_old_images_for_cleanup(template: Template) -> None:
    template.has_resource_properties(
        TABLE, {"StreamSpecification": {"StreamViewType": "OLD_IMAGE"}}
    )


def test_table_is_deletion_protected_and_retained(template: Template) -> None:
    template.has_resource(
        TABLE,
        {
            "Properties": Match.object_like({"DeletionProtectionEnabled": True}),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_bucket_blocks_public_access_and_requires_tls(template: Template) -> None:
    template.has_resource_properties(
        BUCKET,
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            }
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_bucket_is_encrypted_with_s3_managed_keys(template: Template) -> None:
    template.has_resource_properties(
        BUCKET,
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            }
        },
    )


def test_bucket_disables_acls(template: Template) -> None:
    template.has_resource_properties(
        BUCKET,
        {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}},
    )


def test_bucket_aborts_incomplete_multipart_uploads_after_a_day(template: Template) -> None:
    template.has_resource_properties(
        BUCKET,
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                                "Status": "Enabled",
                            }
                        )
                    ]
                )
            }
        },
    )


def test_bucket_expires_abandoned_direct_uploads_after_a_day(template: Template) -> None:
    template.has_resource_properties(
        BUCKET,
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {"Prefix": "incoming/", "ExpirationInDays": 1, "Status": "Enabled"}
                        )
                    ]
                )
            }
        },
    )


def test_abandoned_upload_expiry_covers_every_worker_prefix(
    template: Template, stack: ImgProStack
) -> None:
    bucket = template.find_resources(BUCKET)[
        stack.get_logical_id(stack.storage.bucket.node.default_child)
    ]
    expiring = {
        rule["Prefix"]
        for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        if rule.get("ExpirationInDays") == 1
    }
    assert {worker.s3_prefix for worker in WORKERS} <= expiring


def test_bucket_cors_allows_only_posted_forms_and_put_parts_from_any_origin(
    template: Template,
) -> None:
    template.has_resource_properties(
        BUCKET,
        {
            "CorsConfiguration": {
                "CorsRules": [
                    {
                        "AllowedMethods": ["POST", "PUT"],
                        "AllowedOrigins": ["*"],
                        "AllowedHeaders": ["*"],
                        "ExposedHeaders": ["ETag"],
                    }
                ]
            }
        },
    )


def test_bucket_is_retained(template: Template) -> None:
    template.has_resource(BUCKET, {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})


def test_dev_context_lets_the_table_be_deleted(dev_template: Template) -> None:
    dev_template.has_resource(
        TABLE,
        {
            "Properties": Match.object_like({"DeletionProtectionEnabled": False}),
            "DeletionPolicy": "Delete",
        },
    )


def test_dev_context_empties_and_deletes_the_bucket(dev_template: Template) -> None:
    dev_template.has_resource(BUCKET, {"DeletionPolicy": "Delete"})
    # The media bucket and the access log bucket.
    dev_template.resource_count_is("Custom::S3AutoDeleteObjects", 2)


def test_default_context_never_empties_the_bucket(template: Template) -> None:
    template.resource_count_is("Custom::S3AutoDeleteObjects", 0)
