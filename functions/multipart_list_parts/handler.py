"""GET /v1/uploads/s3/multipart/{uploadId} : the parts S3 has so far."""

from imgpro.endpoints.resumable import multipart_list_parts
from imgpro.http import lambda_handler

handler = lambda_handler(multipart_list_parts)
