"""opendream: a self-hosted Seedream 4.0 compatible image service on open-weight models."""

__version__ = "0.1.0"
