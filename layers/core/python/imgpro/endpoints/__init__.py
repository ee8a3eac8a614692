"""One function per route: read the request, check who asks, validate at the edge,
call the domain, shape the response. Handlers in `functions/` wrap these with
`imgpro.http.lambda_handler`.

A module per group of routes that need the same things, so that each handler loads
only what its route uses (a cold start is mostly imports; bench/cold_start.py):

- `service`: `GET /`
- `reading`: `GET /v1/media/{uid}`, `GET /{uid}` (no upload, change or signing code)
- `listing`: `GET /v1/media`
- `changing`: `PATCH|DELETE /v1/media/{uid}` and `PATCH|DELETE /v1/media?ids=`
- `uploading`: `POST /v1/upload`, `POST /v1/upload/direct`, `POST /v1/import`
- `resumable`: `/v1/uploads/s3/multipart...`

This package imports none of them.
"""
