"""Fetching an image from a URL for `POST /v1/import`, reaching only the public internet.

`fetch(url, policy)` refuses what SECURITY-NOTES ("Importing from a URL") shows public
libraries let through, checks the address it actually connects to on every hop, and bounds
the whole download in time and bytes. See `targets` (URL and host normalization), `addresses`
(the refused networks), `transport` (the urllib3 request) and `fetcher` (the steps).
"""

from .addresses import REFUSED_IPV4, REFUSED_IPV6, refusal_reason
from .errors import FetchError, FetchFailed, FetchRefused, FetchTimedOut, FetchTooLarge
from .fetcher import Fetched, FetchPolicy, Resolver, default_resolver, fetch
from .transport import USER_AGENT, Opener, Target, urllib3_opener

__all__ = [
    "REFUSED_IPV4",
    "REFUSED_IPV6",
    "USER_AGENT",
    "FetchError",
    "FetchFailed",
    "FetchPolicy",
    "FetchRefused",
    "FetchTimedOut",
    "FetchTooLarge",
    "Fetched",
    "Opener",
    "Resolver",
    "Target",
    "default_resolver",
    "fetch",
    "refusal_reason",
    "urllib3_opener",
]
