"""The one error the imaging package raises for a file it will not take.

`imaging` knows nothing of HTTP or request fields: callers (uploads, imports, the
large-upload worker) turn an `ImageRejected` into a client error on their own field.
The message is shown to the client, so it says what is wrong and never echoes bytes.
"""

from __future__ import annotations

import struct

DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)
"""What Pillow's decoders raise for data they cannot read (UnidentifiedImageError is an
OSError); `ImageRejected`, a ValueError, is among them, so catch it first."""


class ImageRejected(ValueError):
    """The file is not an image we accept, or would cost more than any real photo."""


def profile_too_large(format_name: str, nbytes: int, limit: int) -> ImageRejected:
    """The refusal of a colour profile over `limit` bytes, in every container's words."""
    return ImageRejected(
        f"The {format_name}'s colour profile is {nbytes:,} bytes; "
        f"at most {limit >> 20} MiB is accepted"
    )
