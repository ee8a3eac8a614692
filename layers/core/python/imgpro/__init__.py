"""imgpro: the domain of a self-hostable, img.pro-compatible image hosting API.

Nothing in this package knows about Lambda; `imgpro.http` is the one adapter
between API Gateway events and the domain.
"""

__version__ = "0.1.0"
