"""GET /v1/uploads/s3/multipart/{uploadId}/{partNumber} : a presigned URL for one part."""

from imgpro.http import lambda_handler
from imgpro.resumable_endpoints import multipart_sign_part

handler = lambda_handler(multipart_sign_part)
