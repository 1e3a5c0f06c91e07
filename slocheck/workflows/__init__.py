"""The workflows: each wires the adapters (``load``, ``prom``, ``service``) to the judgement
(``evaluate``, ``regress``) for one command: ``verify`` (one window of Prometheus data),
``run`` (the embedded stack or your service, a real load, verify, cross-checks), ``canary``
(two deployments in one Prometheus), ``regression`` (store a run, compare it), ``bench`` (N
runs into the history, compared as one: the nightly check) and ``capacity`` (the highest rate
that meets every SLO). ``stack``
is the embedded service they start. The CLI calls them; nothing below imports them."""
