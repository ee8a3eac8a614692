"""The ImgPro stack: composes the constructs and grants each function only what it needs."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from imgpro import config
from imgpro.cdn import INVALIDATION_WORKER
from imgpro.expiry_rules import WORKER_FUNCTION
from imgpro.keys import INCOMING, ORIGINALS, VARIANTS
from imgpro.models import receipt_pk, team_pk
from imgpro.routes import ROUTES, WORKERS
from infra.api import Api
from infra.cdn import Cdn, cdn_domain, origin_shield_region
from infra.expiry import Expiry
from infra.functions import (
    distribution_environment,
    function_environment,
    log_retention_days,
    pascal_case,
)
from infra.invalidation import Invalidation
from infra.layers import Layers
from infra.monitoring import Monitoring
from infra.nag import BASIC_EXECUTION_ROLE, acknowledge, arn_finding
from infra.options import DEV_CONTEXT_KEY, flag, is_dev
from infra.resize import RESIZE_FUNCTION, Resizer, reserved_concurrency
from infra.resize import TIMEOUT as RESIZE_TIMEOUT
from infra.signing import SigningKeys, key_parameter_name
from infra.storage import Storage, both_sides
from infra.workers import Workers

__all__ = ["DEV_CONTEXT_KEY", "ImgProStack"]

ACCESS_LOGS_CONTEXT_KEY = "imgpro:accessLogs"
"""S3 server access logs of the media bucket and CloudFront standard logs, into a log
bucket of the stack (default on: both deploy without any manual step)."""


# The only routes that touch objects; every other route cannot reach S3 at all.
_WRITES_ORIGINALS = ("upload", "import_url")
# Aborting a resumable upload deletes its pending media as a delete does.
_DELETES_MEDIA = ("delete_media", "batch_delete", "multipart_abort")
_MOVES_MEDIA = ("update_media", "batch_update")
_SIGNS_DIRECT_UPLOADS = ("upload_direct",)
# Resumable uploads (imgpro.resumable) act on the multipart upload at incoming/<uid> only:
# UploadPart and CompleteMultipartUpload are s3:PutObject, as a presigned part URL needs.
_MULTIPART_ACTIONS = {
    "multipart_create": ["s3:PutObject"],
    "multipart_sign_part": ["s3:PutObject"],
    "multipart_sign_parts": ["s3:PutObject"],
    "multipart_list_parts": ["s3:ListMultipartUploadParts"],
    "multipart_complete": ["s3:PutObject", "s3:ListMultipartUploadParts"],
    "multipart_abort": ["s3:AbortMultipartUpload"],
}
# Every route that answers with media JSON, whose `src` of private media is a signed URL.
_SIGNS_URLS = tuple(route.function for route in ROUTES if route.function != "service_info")
# Deleting media or changing its visibility must drop what the edge caches hold of it:
# these queue the invalidation, which only the invalidation worker sends.
_INVALIDATES_CACHE = _DELETES_MEDIA + _MOVES_MEDIA


class ImgProStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Read first: a missing signing key or a malformed option stops synth before
        # anything is built.
        signing_key_parameter = key_parameter_name(self)
        shield_region = origin_shield_region(self)
        cdn_domain_name, cdn_certificate = cdn_domain(self)
        resize_concurrency = reserved_concurrency(self)
        removal_policy = cdk.RemovalPolicy.DESTROY if is_dev(self) else cdk.RemovalPolicy.RETAIN
        access_logs = flag(self, ACCESS_LOGS_CONTEXT_KEY, default=True)
        self.storage = Storage(
            self,
            "Storage",
            removal_policy=removal_policy,
            access_logs=access_logs,
            log_retention_days=log_retention_days(self),
        )
        self.layers = Layers(self, "Layers")
        self.signing = SigningKeys(
            self, "Signing", parameter_name=signing_key_parameter, core_layer=self.layers.core
        )
        environment = function_environment(
            table=self.storage.table,
            bucket=self.storage.bucket,
            signing_key_id=self.signing.public_key.public_key_id,
            signing_key_parameter=self.signing.parameter_name,
        )
        environment = {**environment, **self.signing.environment()}
        # Everything but the distribution's id and URL: the distribution is created from
        # this function's URL, so the function cannot be created from the distribution.
        self.resizer = Resizer(
            self,
            "Resize",
            environment=environment,
            core_layer=self.layers.core,
            imaging_layer=self.layers.imaging,
            reserved_concurrency=resize_concurrency,
        )
        self.cdn = Cdn(
            self,
            "Cdn",
            bucket=self.storage.bucket,
            resize_url=self.resizer.function_url,
            resize_timeout=RESIZE_TIMEOUT,
            key_group=self.signing.key_group,
            origin_shield_region=shield_region,
            log_bucket=self.storage.log_bucket,
            domain_name=cdn_domain_name,
            certificate=cdn_certificate,
        )
        environment = {
            **environment,
            **distribution_environment(self.cdn.distribution),
            # The custom domain's name when there is one.
            config.CDN_BASE_URL: self.cdn.base_url,
        }
        self.invalidation = Invalidation(
            self, "Invalidation", environment=environment, core_layer=self.layers.core
        )
        # Every function after this point may queue invalidations (only some are allowed).
        environment = {
            **environment,
            config.INVALIDATION_QUEUE_URL: self.invalidation.queue.queue_url,
        }
        self.api = Api(
            self,
            "Api",
            routes=ROUTES,
            environment=environment,
            core_layer=self.layers.core,
            imaging_layer=self.layers.imaging,
        )
        self.workers = Workers(
            self,
            "Workers",
            workers=WORKERS,
            bucket=self.storage.bucket,
            environment=environment,
            core_layer=self.layers.core,
            imaging_layer=self.layers.imaging,
        )
        self.expiry = Expiry(
            self,
            "Expiry",
            table=self.storage.table,
            environment=environment,
            core_layer=self.layers.core,
        )
        self._grant_least_privilege()
        self._acknowledge_cdk_providers()
        # Last: it sends every alarm made above to the alarm topics.
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            rest_api=self.api.rest_api,
            functions=self.functions,
            dead_letter_queues=self.dead_letter_queues,
            invalidation_queue=self.invalidation.queue,
            expiry_function=self.expiry.function,
            # Not the expiry worker's: it fails the record, which the stream retries.
            invalidating_functions={name: self.api.functions[name] for name in _INVALIDATES_CACHE},
        )

        cdk.CfnOutput(self, "ApiUrl", value=self.api.rest_api.url)
        if self.api.domain_name is not None:
            # Point the custom domain's DNS record (CNAME or alias) here.
            cdk.CfnOutput(
                self, "ApiDomainTarget", value=self.api.domain_name.domain_name_alias_domain_name
            )
        cdk.CfnOutput(self, "CdnBaseUrl", value=self.cdn.base_url)
        # Operators pass this to `imgpro team put` / `imgpro token issue`.
        cdk.CfnOutput(self, "TableName", value=self.storage.table.table_name)
        # For invalidating by hand (`aws cloudfront create-invalidation`).
        cdk.CfnOutput(self, "DistributionId", value=self.cdn.distribution.distribution_id)
        # Where batches of expired media that failed every retry are described.
        cdk.CfnOutput(self, "ExpiryDeadLetterQueueUrl", value=self.expiry.dead_letters.queue_url)
        # Where invalidations CloudFront refused every time wait for a redrive.
        cdk.CfnOutput(
            self,
            "InvalidationDeadLetterQueueUrl",
            value=self.invalidation.dead_letters.queue_url,
        )
        # Where S3 events a worker failed every try wait for a replay.
        for name, queue in self.workers.dead_letters.items():
            cdk.CfnOutput(self, f"{pascal_case(name)}DeadLetterQueueUrl", value=queue.queue_url)

    @property
    def functions(self) -> dict[str, lambda_.Function]:
        """Every function of the stack (routes, workers, resize), by folder name."""
        return {
            **self.api.functions,
            **self.workers.functions,
            RESIZE_FUNCTION: self.resizer.function,
            WORKER_FUNCTION: self.expiry.function,
            INVALIDATION_WORKER: self.invalidation.function,
        }

    @property
    def dead_letter_queues(self) -> dict[str, sqs.Queue]:
        """Every dead-letter queue of the stack, by the folder of the function whose
        failures it keeps."""
        return {
            **self.workers.dead_letters,
            WORKER_FUNCTION: self.expiry.dead_letters,
            INVALIDATION_WORKER: self.invalidation.dead_letters,
        }

    def _grant_least_privilege(self) -> None:
        table, bucket = self.storage.table, self.storage.bucket
        for function in {**self.api.functions, **self.workers.functions}.values():
            table.grant_read_write_data(function)
            acknowledge(
                function,
                "IAM5",
                "The table's indexes: gsi1 serves team and tag listings, and an index ARN"
                " is only ever `<table>/index/<name>`; nothing outside this table.",
                findings=[arn_finding(table, "/index/*")],
            )
        for name, function in self.api.functions.items():
            if name in _WRITES_ORIGINALS:
                # Private media is stored on its side from the start. PutObject carries
                # the lifecycle tags (imgpro.storage.put_original), and a create whose
                # record fails to write deletes its object again, so a failure leaves no
                # orphan (imgpro.media.create). Nothing is read or listed: no grant_read,
                # which would add bucket-wide s3:List*.
                for pattern in both_sides(ORIGINALS):
                    _grant_objects(
                        bucket,
                        function,
                        actions=["s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"],
                        pattern=pattern,
                    )
            if name in _DELETES_MEDIA:
                # Deleting media deletes its original and every variant on both sides (a
                # visibility move cut short leaves a copy on the other one), by key: every
                # key it can have is known from its id (keys.media_object_keys), so the
                # function lists nothing and is granted no s3:ListBucket.
                for pattern in (*both_sides(ORIGINALS), *both_sides(VARIANTS)):
                    _grant_delete(bucket, function, pattern)
                # Media deleted while still processing takes its unprocessed direct
                # upload with it (imgpro.storage.delete_media_objects).
                _grant_delete(bucket, function, f"{INCOMING}*")
            if name in _MOVES_MEDIA:
                self._grant_visibility_moves(function)
            if name in _SIGNS_DIRECT_UPLOADS:
                # S3 accepts a presigned POST only if its signer may do what the POST
                # does; the function itself never reads, lists or deletes an object.
                # Not grant_put: the form carries no tagging, retention or legal hold.
                _grant_objects(bucket, function, actions=["s3:PutObject"], pattern=f"{INCOMING}*")
            if name in _MULTIPART_ACTIONS:
                _grant_objects(
                    bucket, function, actions=_MULTIPART_ACTIONS[name], pattern=f"{INCOMING}*"
                )
            if name in _SIGNS_URLS:
                self._grant_signing_key(function)
            if name in _INVALIDATES_CACHE:
                self._grant_queue_invalidations(function)
        for worker in WORKERS:
            function = self.workers.functions[worker.function]
            uploads = f"{worker.s3_prefix}*"
            # Only GetObject: Bucket.grant_read would add bucket-wide s3:List*. Without
            # ListBucket a missing key reads as 403 AccessDenied rather than 404.
            _grant_objects(bucket, function, actions=["s3:GetObject"], pattern=uploads)
            _grant_delete(bucket, function, uploads)
            for pattern in both_sides(ORIGINALS):
                bucket.grant_put(function, pattern)
                acknowledge(
                    function,
                    "IAM5",
                    "Bucket.grant_put: PutObject and its s3:Abort* (multipart) on the"
                    " originals prefix only, where the worker stores what it processed.",
                    findings=["Action::s3:Abort*", _objects_finding(bucket, pattern)],
                )
                # As for uploads: a record that fails to write deletes its original again.
                _grant_delete(bucket, function, pattern)
        self._grant_resize()
        self._grant_expiry()
        self._grant_invalidation()

    def _acknowledge_cdk_providers(self) -> None:
        """Functions aws-cdk-lib adds for itself: bucket notifications (the upload
        workers), and emptying buckets before deleting them (dev stacks only)."""
        for child in self.node.children:
            if child.node.id.startswith("BucketNotificationsHandler"):
                acknowledge(
                    child,
                    "IAM4",
                    "aws-cdk-lib's bucket notifications handler: AWSLambdaBasicExecutionRole"
                    " only lets it write its own logs.",
                    findings=[BASIC_EXECUTION_ROLE],
                )

    def _grant_visibility_moves(self, function: lambda_.IFunction) -> None:
        """Making media public or private copies its original and variants to the other
        side, then deletes them (imgpro.storage.move_to_side)."""
        bucket = self.storage.bucket
        for pattern in (*both_sides(ORIGINALS), *both_sides(VARIANTS)):
            # CopyObject keeps the source's tags (imgpro.storage tags originals
            # `ephemeral=`), which takes the tagging actions on both ends; HeadObject is
            # GetObject.
            _grant_objects(
                bucket,
                function,
                actions=["s3:GetObject", "s3:GetObjectTagging"],
                pattern=pattern,
            )
            _grant_objects(
                bucket,
                function,
                actions=["s3:PutObject", "s3:PutObjectTagging"],
                pattern=pattern,
            )
            _grant_delete(bucket, function, pattern)
        # No s3:ListBucket: the record lists the objects to move (storage.move_to_side),
        # and a listed variant that is gone answers 403 without it, which the move skips.

    def _grant_resize(self) -> None:
        """The resize function reads an original, writes its variant and records the
        variant on the media item: nothing else, so a bug in image decoding reaches little."""
        function = self.resizer.function
        bucket, table = self.storage.bucket, self.storage.table
        for pattern in both_sides(ORIGINALS):
            _grant_objects(bucket, function, actions=["s3:GetObject"], pattern=pattern)
        for pattern in both_sides(VARIANTS):
            # Tagging: variants of ephemeral media are tagged for the lifecycle backstop,
            # and S3 wants s3:PutObjectTagging for a PutObject that carries tags.
            # DeleteObject: a variant whose media was deleted or moved while it was
            # rendered is deleted again (imgpro.media.creating.record_variant).
            _grant_objects(
                bucket,
                function,
                actions=["s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"],
                pattern=pattern,
            )
        # The item by its key, and one attribute set on it; no index (Table.grant would add
        # them), no query, no scan, no delete.
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
            resource_arns=[table.table_arn],
        )

    def _grant_expiry(self) -> None:
        """The expiry worker deletes an expired item's objects by key (no listing, no
        reading), queues their invalidation, and writes two items: its receipt, and the
        team's usage counter it releases the bytes from (imgpro.expiry). The stream and
        the dead-letter queue are the event source mapping's own grants."""
        function = self.expiry.function
        bucket, table = self.storage.bucket, self.storage.table
        for pattern in (*both_sides(ORIGINALS), *both_sides(VARIANTS), f"{INCOMING}*"):
            _grant_objects(bucket, function, actions=["s3:DeleteObject"], pattern=pattern)
        self._grant_queue_invalidations(function)
        for actions, key_pattern in (
            (["dynamodb:PutItem", "dynamodb:DeleteItem"], receipt_pk("*")),
            (["dynamodb:GetItem", "dynamodb:UpdateItem"], team_pk("*")),
        ):
            # Only items whose partition key matches: not media, tokens or tag links.
            iam.Grant.add_to_principal(
                grantee=function,
                actions=actions,
                resource_arns=[table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [key_pattern]}},
            )

    def _grant_queue_invalidations(self, function: lambda_.IFunction) -> None:
        """Put messages on the invalidation queue, and nothing else: not the distribution
        (only the worker invalidates), and not the queue's other actions."""
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["sqs:SendMessage"],
            resource_arns=[self.invalidation.queue.queue_arn],
        )

    def _grant_invalidation(self) -> None:
        """The invalidation worker creates invalidations of this distribution, and reads
        and deletes messages of its queue (the event source mapping's own grant)."""
        self.cdn.distribution.grant_create_invalidation(self.invalidation.function)

    def _grant_signing_key(self, function: lambda_.IFunction) -> None:
        """Read the private key that signs URLs of private media: that one parameter."""
        parameter_arn = self.format_arn(
            service="ssm",
            resource="parameter",
            resource_name=self.signing.parameter_name.lstrip("/"),
        )
        iam.Grant.add_to_principal(
            grantee=function, actions=["ssm:GetParameter"], resource_arns=[parameter_arn]
        )
        # SSM decrypts the SecureString with KMS on the caller's behalf. An IAM policy can
        # name a key only by its key ARN (not the alias/aws/ssm alias), so: any key of this
        # account and region, and only through SSM, where the grant above allows one
        # parameter. Redundant for the AWS managed key, whose key policy already lets every
        # principal of the account decrypt through SSM; needed for a customer managed key.
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["kms:Decrypt"],
            resource_arns=[self.format_arn(service="kms", resource="key", resource_name="*")],
            conditions={"StringEquals": {"kms:ViaService": f"ssm.{cdk.Aws.REGION}.amazonaws.com"}},
        )
        acknowledge(
            function,
            "IAM5",
            "kms:Decrypt through SSM only (kms:ViaService), for the one parameter granted"
            " above: IAM cannot name the SSM key by its alias, only by a key ARN.",
            findings=["Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*"],
        )


def _grant_objects(
    bucket: s3.IBucket, grantee: iam.IGrantable, *, actions: list[str], pattern: str
) -> iam.Grant:
    """Exactly `actions` on the objects matching `pattern`, and nothing on the bucket."""
    grant = iam.Grant.add_to_principal(
        grantee=grantee, actions=actions, resource_arns=[bucket.arn_for_objects(pattern)]
    )
    _acknowledge_prefix(grantee, bucket, pattern)
    return grant


def _grant_delete(bucket: s3.IBucket, grantee: iam.IGrantable, pattern: str) -> iam.Grant:
    """Bucket.grant_delete (s3:DeleteObject*: the object and its versions) on `pattern`."""
    grant = bucket.grant_delete(grantee, pattern)
    assert isinstance(grantee, Construct)
    acknowledge(
        grantee,
        "IAM5",
        "s3:DeleteObject* is DeleteObject and DeleteObjectVersion (Bucket.grant_delete),"
        " on one key prefix of the media bucket.",
        findings=["Action::s3:DeleteObject*"],
    )
    _acknowledge_prefix(grantee, bucket, pattern)
    return grant


def _objects_finding(bucket: s3.IBucket, pattern: str) -> str:
    return arn_finding(bucket, f"/{pattern}")


def _acknowledge_prefix(grantee: iam.IGrantable, bucket: s3.IBucket, pattern: str) -> None:
    if "*" not in pattern:
        return
    assert isinstance(grantee, Construct)
    acknowledge(
        grantee,
        "IAM5",
        f"Objects under the `{pattern}` prefix of the media bucket's key layout"
        " (imgpro.keys): the keys are built from media ids at run time, so IAM can only"
        " name the prefix; grants never reach the bucket as a whole.",
        findings=[_objects_finding(bucket, pattern)],
    )
