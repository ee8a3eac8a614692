"""The one DynamoDB table and the one private S3 bucket."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from imgpro.expiry_rules import BUCKET_DAYS, EXPIRY_TAG, lifecycle_days, lifecycle_rule_id
from imgpro.keys import INCOMING, PRIVATE
from imgpro.provision import BUCKET_CORS_RULE
from infra.nag import acknowledge

S3_LOG_PREFIX = "s3/"
CDN_LOG_PREFIX = "cdn/"
ACCESS_LOGS_OFF = "imgpro:accessLogs=false"


def both_sides(prefix: str) -> tuple[str, str]:
    """The key patterns of a prefix of the bucket's layout (imgpro.keys) on the public and
    the private side, for grants scoped to them: `both_sides(keys.ORIGINALS)` is
    `("o/*", "private/o/*")`."""
    return (f"{prefix}*", f"{PRIVATE}{prefix}*")


def ephemeral_media_rules() -> list[s3.LifecycleRule]:
    """One rule per bucket of days: objects tagged `expires-within-days=N` expire N + 1
    days after they were stored, never before their media does."""
    return [
        s3.LifecycleRule(
            id=lifecycle_rule_id(days),
            tag_filters={EXPIRY_TAG: str(days)},
            expiration=cdk.Duration.days(lifecycle_days(days)),
        )
        for days in BUCKET_DAYS
    ]


class Storage(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        access_logs: bool = True,
        log_retention_days: int = 30,
    ) -> None:
        super().__init__(scope, construct_id)
        # Media, teams and tokens are the users' data: only a throwaway dev stack may
        # lose them with the stack.
        disposable = removal_policy == cdk.RemovalPolicy.DESTROY
        self.log_bucket = (
            self._log_bucket(removal_policy, log_retention_days) if access_logs else None
        )

        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expires_at",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=not disposable,
            # The cleanup function needs the expired item's keys and object names,
            # which only the old image still carries.
            stream=dynamodb.StreamViewType.OLD_IMAGE,
            removal_policy=removal_policy,
        )
        # One overloaded index serves team listings and tag listings, newest first.
        self.table.add_global_secondary_index(
            index_name="gsi1",
            partition_key=dynamodb.Attribute(name="gsi1pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="gsi1sk", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                # A client that gives up on a direct upload leaves parts that are billed
                # but invisible in listings.
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                ),
                # A direct upload's worker deletes the file once processed; one that is
                # still there a day later was abandoned or failed, and only costs money.
                s3.LifecycleRule(
                    id="expire-abandoned-direct-uploads",
                    prefix=INCOMING,
                    expiration=cdk.Duration.days(1),
                ),
                # The backstop for ephemeral media, should the worker that follows TTL fail
                # for good: objects are tagged with their days left, rounded up to one of
                # these buckets, when stored (imgpro.expiry_rules, docs/ephemeral.md).
                *ephemeral_media_rules(),
            ],
            # imgpro.provision.BUCKET_CORS_RULE says why, and the local stack uses it too.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods(m) for m in BUCKET_CORS_RULE["AllowedMethods"]],
                    allowed_origins=BUCKET_CORS_RULE["AllowedOrigins"],
                    allowed_headers=BUCKET_CORS_RULE["AllowedHeaders"],
                    exposed_headers=BUCKET_CORS_RULE["ExposeHeaders"],
                )
            ],
            removal_policy=removal_policy,
            # CloudFormation cannot delete a bucket that still holds objects, so DESTROY
            # alone would leave a dev stack stuck in DELETE_FAILED.
            auto_delete_objects=disposable,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix=S3_LOG_PREFIX if self.log_bucket else None,
        )
        if self.log_bucket is None:
            acknowledge(
                self.bucket,
                "S1",
                f"Server access logs turned off by the operator (-c {ACCESS_LOGS_OFF}).",
            )

    def _log_bucket(self, removal_policy: cdk.RemovalPolicy, retention_days: int) -> s3.Bucket:
        """Where S3 server access logs (`s3/`) and CloudFront standard logs (`cdn/`) go."""
        disposable = removal_policy == cdk.RemovalPolicy.DESTROY
        bucket = s3.Bucket(
            self,
            "Logs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # CloudFront standard logs accept SSE-S3, not SSE-KMS.
            encryption=s3.BucketEncryption.S3_MANAGED,
            # CloudFront delivers standard logs through an ACL grant it adds itself at
            # deploy time, which needs ACLs enabled; S3 server access logs use the bucket
            # policy (cdk.json's serverAccessLogsUseBucketPolicy) either way.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-logs", expiration=cdk.Duration.days(retention_days)),
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                ),
            ],
            removal_policy=removal_policy,
            auto_delete_objects=disposable,
        )
        acknowledge(
            bucket,
            "S1",
            "This is the access log bucket: logging its own accesses into itself would log"
            " every log delivery, forever.",
        )
        return bucket
