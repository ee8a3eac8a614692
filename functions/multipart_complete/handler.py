"""POST /v1/uploads/s3/multipart/{uploadId}/complete : assemble the parts into the upload."""

from imgpro.endpoints.resumable import multipart_complete
from imgpro.http import lambda_handler

handler = lambda_handler(multipart_complete)
