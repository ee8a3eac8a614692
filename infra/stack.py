"""The ImgPro stack: composes the constructs and grants each function only what it needs."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from imgpro.routes import ROUTES
from infra.api import Api
from infra.cdn import Cdn
from infra.layers import Layers
from infra.storage import ORIGINALS_PREFIX, VARIANTS_PREFIX, Storage

DEV_CONTEXT_KEY = "imgpro:dev"

# The only functions that touch objects; every other function cannot reach S3 at all.
_WRITES_ORIGINALS = ("upload", "import_url")
_DELETES_MEDIA = ("delete_media", "batch_delete")


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
        self._grant_least_privilege()

        cdk.CfnOutput(self, "ApiUrl", value=self.api.rest_api.url)
        cdk.CfnOutput(self, "CdnBaseUrl", value=self.cdn.base_url)
        # Operators pass this to `imgpro team put` / `imgpro token issue`.
        cdk.CfnOutput(self, "TableName", value=self.storage.table.table_name)

    def _grant_least_privilege(self) -> None:
        table, bucket = self.storage.table, self.storage.bucket
        originals, variants = f"{ORIGINALS_PREFIX}/*", f"{VARIANTS_PREFIX}/*"
        for name, function in self.api.functions.items():
            table.grant_read_write_data(function)
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


def _grant_list(bucket: s3.IBucket, grantee: iam.IGrantable, *, prefix: str) -> iam.Grant:
    """s3:ListBucket limited to keys under `prefix` (Bucket.grant_read lists everything)."""
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["s3:ListBucket"],
        resource_arns=[bucket.bucket_arn],
        conditions={"StringLike": {"s3:prefix": [prefix]}},
    )


def _is_dev(scope: Construct) -> bool:
    # `cdk -c imgpro:dev=true` passes a string, cdk.json a boolean.
    return str(scope.node.try_get_context(DEV_CONTEXT_KEY)).lower() == "true"
