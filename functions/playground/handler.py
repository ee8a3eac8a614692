"""GET /docs and GET /docs/{asset} : the API playground, a page that drives the OpenAPI
document (Swagger UI, shipped with the function)."""

from imgpro.http import lambda_handler
from imgpro.playground import playground

handler = lambda_handler(playground)
