"""webhooks: deliveries of request events to the URL a submit named, the Standard-Webhooks way.

- `signing`: secrets (`whsec_<base64>`) and the `webhook-*` headers;
- `state`: the delivery state kept in a row's `extra["webhook"]` — which events a row owes, the
  pending messages and their retry times, the log of attempts (pure functions, no I/O);
- `send`: one POST to the validated address (the SSRF rules of image fetching apply);
- `loop`: the delivery loop every `serve` and `worker` process runs.

Imports `jobs` and `inputs`; the result object a delivery carries is rendered by the caller.
"""
