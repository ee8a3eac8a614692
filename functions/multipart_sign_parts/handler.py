"""GET /v1/uploads/s3/multipart/{uploadId}/batch : presigned URLs for several parts."""

from imgpro.http import lambda_handler
from imgpro.resumable_endpoints import multipart_sign_parts

handler = lambda_handler(multipart_sign_parts)
