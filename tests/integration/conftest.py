import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
    # tests on llama-server last: on a fresh machine its build (scripts/servers/install.sh
    # --background, ~6-10 min) runs beside the rest of the suite
    items.sort(key=lambda item: "llama_server" in getattr(item, "fixturenames", ()))


# real third-party servers (MLServer, llama.cpp's llama-server), installed by
# scripts/servers/install.sh; they skip with the installer's reason where missing
from tests.integration.servers import llama_server, mlserver_server  # noqa: E402, F401
