"""POST /v1/upload : store an image sent as multipart/form-data."""

from imgpro.endpoints.uploading import upload
from imgpro.http import lambda_handler

handler = lambda_handler(upload)
