"""Create the table and bucket with the deployed schema: for the local stack and tests.

In AWS the CDK stack owns these resources; this mirrors its table definition
(keys, gsi1, TTL) so moto behaves like the deployed system.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imgpro.models import GSI1, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CORSRuleTypeDef

TABLE_DEFINITION: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
    ],
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": GSI1,
            "KeySchema": [
                {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


def ensure_table(name: str) -> None:
    import boto3

    client = boto3.client("dynamodb")
    try:
        client.describe_table(TableName=name)
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    client.create_table(TableName=name, **TABLE_DEFINITION)
    client.get_waiter("table_exists").wait(TableName=name)
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


BUCKET_CORS_RULE: CORSRuleTypeDef = {
    "AllowedMethods": ["POST", "PUT"],
    "AllowedOrigins": ["*"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": ["ETag"],
}
"""The media bucket's one CORS rule (infra.storage makes the same): browsers post
presigned forms and put presigned parts of resumable uploads straight to the bucket from
any site that uses the API, and read each part's ETag. Reads go through the CDN. The
presigned signature, not CORS, decides what may be uploaded."""


def ensure_bucket(name: str) -> None:
    from imgpro.clients import s3

    client = s3()
    try:
        client.head_bucket(Bucket=name)
    except client.exceptions.ClientError:
        client.create_bucket(Bucket=name)
    client.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [BUCKET_CORS_RULE]})
