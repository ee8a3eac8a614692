"""GET /v1/uploads/s3/multipart/{uploadId} : the parts S3 has so far."""

from imgpro.http import lambda_handler
from imgpro.resumable_endpoints import multipart_list_parts

handler = lambda_handler(multipart_list_parts)
