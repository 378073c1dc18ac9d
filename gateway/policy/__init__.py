"""Policy enforcement in the gateway: decisions per request, field filters, rate limits, sharing requests.

`policies/` decides; this package applies the decisions to requests (deps.py), keeps the compiled policy
fresh (state.py), refuses filters and sorts on fields a client may not see (filters.py), throttles
(ratelimit.py, throttle.py) and serves the sharing requests (sharing.py) and policy admin routes.
"""
