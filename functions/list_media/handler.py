"""GET /v1/media : the team's media, newest first, by cursor or offset."""

from imgpro.endpoints.listing import list_media
from imgpro.http import lambda_handler

handler = lambda_handler(list_media)
