"""POST /v1/upload/direct : announce a large upload, get a presigned S3 POST for it."""

from imgpro.endpoints.uploading import upload_direct
from imgpro.http import lambda_handler

handler = lambda_handler(upload_direct)
