"""DELETE /v1/uploads/s3/multipart/{uploadId} : drop a resumable upload and its media."""

from imgpro.http import lambda_handler
from imgpro.resumable_endpoints import multipart_abort

handler = lambda_handler(multipart_abort)
