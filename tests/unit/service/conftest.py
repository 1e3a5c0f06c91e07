from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from slocheck.service.app import create_app
from slocheck.service.config import ServiceConfig
from slocheck.service.metrics import ServiceMetrics
from slocheck.service.state import ServiceState

MakeClient = Callable[..., Awaitable[tuple[httpx.AsyncClient, ServiceState]]]


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """Build the app, run its lifespan (models load, warm-up) and give an in-process client."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(
            config: ServiceConfig | None = None, **kwargs: Any
        ) -> tuple[httpx.AsyncClient, ServiceState]:
            kwargs.setdefault("metrics", ServiceMetrics(process_metrics=False))
            app = create_app(config or ServiceConfig(), **kwargs)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://svc"
            )
            await stack.enter_async_context(client)
            state: ServiceState = app.state.svc
            return client, state

        yield make
