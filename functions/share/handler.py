"""GET /{uid} : the public sharing link, redirecting to the image."""

from imgpro.endpoints.reading import share
from imgpro.http import lambda_handler

handler = lambda_handler(share)
