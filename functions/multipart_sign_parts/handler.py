"""GET /v1/uploads/s3/multipart/{uploadId}/batch : presigned URLs for several parts."""

from imgpro.endpoints.resumable import multipart_sign_parts
from imgpro.http import lambda_handler

handler = lambda_handler(multipart_sign_parts)
