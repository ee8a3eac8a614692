"""GET /v1/media/{uid} : one media item (auth optional)."""

from imgpro.endpoints.reading import get_media
from imgpro.http import lambda_handler

handler = lambda_handler(get_media)
