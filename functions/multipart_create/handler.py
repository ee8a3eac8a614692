"""POST /v1/uploads/s3/multipart : open a resumable upload (imgpro.resumable)."""

from imgpro.endpoints.resumable import multipart_create
from imgpro.http import lambda_handler

handler = lambda_handler(multipart_create)
