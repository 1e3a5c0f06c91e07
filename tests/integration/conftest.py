import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


# real third-party servers (MLServer, llama.cpp's llama-server), installed by
# scripts/servers/install.sh; they skip with the installer's reason where missing
from tests.integration.servers import llama_server, mlserver_server  # noqa: E402, F401
