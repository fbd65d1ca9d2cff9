"""Metrics (Prometheus text) and structured logs carrying the request id."""
