"""DELETE /v1/media/{uid} : delete one media item and its objects."""

from imgpro.endpoints.changing import delete_media
from imgpro.http import lambda_handler

handler = lambda_handler(delete_media)
