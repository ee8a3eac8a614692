"""The ImgPro stack: composes the constructs and grants each function only what it needs."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from imgpro.routes import ROUTES, WORKERS
from infra.api import Api
from infra.cdn import Cdn
from infra.layers import Layers
from infra.storage import INCOMING_PREFIX, ORIGINALS_PREFIX, VARIANTS_PREFIX, Storage
from infra.workers import Workers

DEV_CONTEXT_KEY = "imgpro:dev"

# The only routes that touch objects; every other route cannot reach S3 at all.
_WRITES_ORIGINALS = ("upload", "import_url")
_DELETES_MEDIA = ("delete_media", "batch_delete")
_SIGNS_DIRECT_UPLOADS = ("upload_direct",)


class ImgProStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal_policy = cdk.RemovalPolicy.DESTROY if _is_dev(self) else cdk.RemovalPolicy.RETAIN
        self.storage = Storage(self, "Storage", removal_policy=removal_policy)
        self.cdn = Cdn(self, "Cdn", bucket=self.storage.bucket)
        self.layers = Layers(self, "Layers")
        self.api = Api(
            self,
            "Api",
            routes=ROUTES,
            table=self.storage.table,
            bucket=self.storage.bucket,
            cdn_base_url=self.cdn.base_url,
            core_layer=self.layers.core,
            imaging_layer=self.layers.imaging,
        )
        self.workers = Workers(
            self,
            "Workers",
            workers=WORKERS,
            table=self.storage.table,
            bucket=self.storage.bucket,
            cdn_base_url=self.cdn.base_url,
            core_layer=self.layers.core,
            imaging_layer=self.layers.imaging,
        )
        self._grant_least_privilege()

        cdk.CfnOutput(self, "ApiUrl", value=self.api.rest_api.url)
        cdk.CfnOutput(self, "CdnBaseUrl", value=self.cdn.base_url)
        # Operators pass this to `imgpro team put` / `imgpro token issue`.
        cdk.CfnOutput(self, "TableName", value=self.storage.table.table_name)

    @property
    def functions(self) -> dict[str, lambda_.Function]:
        """Every function of the stack, routes and workers, by folder name."""
        return {**self.api.functions, **self.workers.functions}

    def _grant_least_privilege(self) -> None:
        table, bucket = self.storage.table, self.storage.bucket
        originals, variants = f"{ORIGINALS_PREFIX}/*", f"{VARIANTS_PREFIX}/*"
        for function in self.functions.values():
            table.grant_read_write_data(function)
        for name, function in self.api.functions.items():
            if name in _WRITES_ORIGINALS:
                bucket.grant_put(function, originals)
                bucket.grant_read(function, originals)
                # A create whose record fails to write deletes its object again, so a
                # failure leaves no orphan (imgpro.media.create).
                bucket.grant_delete(function, originals)
            if name in _DELETES_MEDIA:
                # Deleting media deletes its original and every variant, which are found
                # by listing the media's variant prefix.
                bucket.grant_delete(function, originals)
                bucket.grant_delete(function, variants)
                _grant_list(bucket, function, prefix=variants)
                # Media deleted while still processing takes its unprocessed direct
                # upload with it (imgpro.storage.delete_media_objects).
                bucket.grant_delete(function, f"{INCOMING_PREFIX}/*")
            if name in _SIGNS_DIRECT_UPLOADS:
                # S3 accepts a presigned POST only if its signer may do what the POST
                # does; the function itself never reads, lists or deletes an object.
                # Not grant_put: the form carries no tagging, retention or legal hold.
                _grant_objects(
                    bucket, function, actions=["s3:PutObject"], pattern=f"{INCOMING_PREFIX}/*"
                )
        for worker in WORKERS:
            function = self.workers.functions[worker.function]
            uploads = f"{worker.s3_prefix}*"
            # Only GetObject: Bucket.grant_read would add bucket-wide s3:List*. Without
            # ListBucket a missing key reads as 403 AccessDenied rather than 404.
            _grant_objects(bucket, function, actions=["s3:GetObject"], pattern=uploads)
            bucket.grant_delete(function, uploads)
            bucket.grant_put(function, originals)
            # As for uploads: a record that fails to write deletes its original again.
            bucket.grant_delete(function, originals)


def _grant_list(bucket: s3.IBucket, grantee: iam.IGrantable, *, prefix: str) -> iam.Grant:
    """s3:ListBucket limited to keys under `prefix` (Bucket.grant_read lists everything)."""
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["s3:ListBucket"],
        resource_arns=[bucket.bucket_arn],
        conditions={"StringLike": {"s3:prefix": [prefix]}},
    )


def _grant_objects(
    bucket: s3.IBucket, grantee: iam.IGrantable, *, actions: list[str], pattern: str
) -> iam.Grant:
    """Exactly `actions` on the objects matching `pattern`, and nothing on the bucket."""
    return iam.Grant.add_to_principal(
        grantee=grantee, actions=actions, resource_arns=[bucket.arn_for_objects(pattern)]
    )


def _is_dev(scope: Construct) -> bool:
    # `cdk -c imgpro:dev=true` passes a string, cdk.json a boolean.
    return str(scope.node.try_get_context(DEV_CONTEXT_KEY)).lower() == "true"
