"""GET /openapi.json : the OpenAPI 3.1 document of this API, made from its route table."""

from imgpro.http import lambda_handler
from imgpro.openapi import openapi_document

handler = lambda_handler(openapi_document)
