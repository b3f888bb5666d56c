"""The pytest fixture around the stand-in sshd (demo/standins/sshd_server.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from demo.standins.sshd_server import HostBehaviour, SshdServer


@pytest.fixture
def sshd_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A factory fixture: `sshd_factory({"web1": None, ...})` starts an SshdServer, stopped at teardown."""
    started: list[SshdServer] = []

    def start(hosts: Mapping[str, HostBehaviour | None], **kwargs: Any) -> SshdServer:
        server = SshdServer(tmp_path_factory.mktemp("sshd"), hosts, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
