"""The KServe v2 / Open Inference Protocol (Triton, KServe, MLServer, TorchServe ...).

``POST /v2/models/{model}/infer`` with the bodies of ``SLOCHECK_PAYLOAD`` sent VERBATIM, in turn
(round robin over the users of one process), named by the real path so that client counts line
up with the server's route label. ``SLOCHECK_MODEL`` names the model.
"""

from __future__ import annotations

import os

from locust import task

from slocheck.load.locustfiles.common import Paced, Payload

MODEL = os.environ.get("SLOCHECK_MODEL", "")
PATH = f"/v2/models/{MODEL}/infer"
PAYLOAD = Payload.from_env()


class KServeV2User(Paced):
    @task
    def infer(self) -> None:
        self.client.post(
            PATH,
            data=PAYLOAD.next(),  # type: ignore[arg-type] # bytes go out verbatim
            headers={"Content-Type": "application/json"},
            name=PATH,
        )
