"""The workflows: each wires the adapters (``load``, ``prom``, ``service``) to the judgement
(``evaluate``, ``regress``) for one command: ``verify`` (one window of Prometheus data),
``run`` (the embedded stack or your service, a real load, verify, cross-checks), ``canary``
(two deployments in one Prometheus) and ``regression`` (store a run, compare it). ``stack``
is the embedded service they start. The CLI calls them; nothing below imports them."""
