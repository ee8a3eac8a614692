"""CloudFront's fallback origin (a Function URL behind OAC): make a size variant that S3
does not have yet, store it, and return it."""

from imgpro.http.function_url import origin_handler

handler = origin_handler()
