"""GET /v1/uploads/s3/multipart/{uploadId}/{partNumber} : a presigned URL for one part."""

from imgpro.endpoints.resumable import multipart_sign_part
from imgpro.http import lambda_handler

handler = lambda_handler(multipart_sign_part)
