"""The one adapter between API Gateway (REST proxy) events and the domain.

`lambda_handler(endpoint)` is all a function module needs: it parses the event
into a `Request`, calls the endpoint, and turns the `Response` or the raised
`ApiError` into the proxy response. Anything else raised is a bug: logged, 500.
"""

from imgpro.http.adapter import lambda_handler
from imgpro.http.requests import Request
from imgpro.http.responses import Response

__all__ = ["Request", "Response", "lambda_handler"]
