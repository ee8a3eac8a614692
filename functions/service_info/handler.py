"""GET / : what this service is and which routes it answers."""

from imgpro.endpoints.service import service_info
from imgpro.http import lambda_handler

handler = lambda_handler(service_info)
