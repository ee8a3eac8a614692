"""DELETE /v1/media?ids= : delete up to 100 of the team's media at once."""

from imgpro.endpoints.changing import batch_delete
from imgpro.http import lambda_handler

handler = lambda_handler(batch_delete)
