"""PATCH /v1/media/{uid} : update one media item's metadata."""

from imgpro.endpoints.changing import update_media
from imgpro.http import lambda_handler

handler = lambda_handler(update_media)
