"""DELETE /v1/uploads/s3/multipart/{uploadId} : drop a resumable upload and its media."""

from imgpro.endpoints.resumable import multipart_abort
from imgpro.http import lambda_handler

handler = lambda_handler(multipart_abort)
