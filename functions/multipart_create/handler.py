"""POST /v1/uploads/s3/multipart : open a resumable upload (imgpro.resumable)."""

from imgpro.http import lambda_handler
from imgpro.resumable_endpoints import multipart_create

handler = lambda_handler(multipart_create)
