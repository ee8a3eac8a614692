"""The local stack: the deployed system on a laptop, with no AWS account.

`imgpro local` (see `imgpro.cli`) runs moto for S3 and DynamoDB, and an HTTP server
that does what API Gateway and CloudFront do in AWS: `events` turns a request into
the REST proxy event and the proxy response back into HTTP, `gateway` routes, limits
and invokes, `lambdas` loads the same handler files the Lambda functions run,
`server` is the HTTP transport, `ttl` stands in for DynamoDB's TTL process and the
expiry worker's stream trigger, `clock_control` lets a test move the clock they read,
and `stack` starts and stops the whole.
"""
