"""POST /v1/uploads/s3/multipart/{uploadId}/complete : assemble the parts into the upload."""

from imgpro.http import lambda_handler
from imgpro.resumable_endpoints import multipart_complete

handler = lambda_handler(multipart_complete)
