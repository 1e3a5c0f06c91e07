"""Any other JSON API: ``SLOCHECK_HTTP_METHOD`` ``SLOCHECK_HTTP_PATH`` with the bodies of
``SLOCHECK_PAYLOAD`` sent VERBATIM, in turn (round robin over the users of one process); no body
when there is no payload. Named by the path; any status >= 400 is a failed request."""

from __future__ import annotations

import os

from locust import task

from slocheck.load.locustfiles.common import Paced, Payload

METHOD = os.environ.get("SLOCHECK_HTTP_METHOD", "POST") or "POST"
PATH = os.environ.get("SLOCHECK_HTTP_PATH", "/") or "/"
PAYLOAD = Payload.from_env()


class HttpApiUser(Paced):
    @task
    def call(self) -> None:
        body = PAYLOAD.next()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        # bytes go out verbatim (the annotation says str or dict; geventhttpclient sends bytes)
        self.client.request(METHOD, PATH, data=body, headers=headers, name=PATH)  # type: ignore[arg-type]
