"""POST /v1/import : import an image from a URL (reserved route)."""

from imgpro.endpoints.uploading import import_url
from imgpro.http import lambda_handler

handler = lambda_handler(import_url)
