"""Worker processes (``--workers``/``AGENT_WORKERS``) get the server's configuration pickled:
the limited protocol must survive that, with its limits."""

import pickle

import pytest
import uvicorn
from uvicorn.server import ServerState

from chatsphere_kit.server import (
    LimitedHttpToolsProtocol,
    LimitedProtocolFactory,
    limited_protocol,
)
from chatsphere_kit.settings import ServiceSettings


async def _app(scope: object, receive: object, send: object) -> None:
    """Never called: the protocol only needs an app to hold."""


def test_the_protocol_class_of_one_process_cannot_travel_to_a_worker() -> None:
    settings = ServiceSettings(request_header_timeout_s=3)
    config = uvicorn.Config("module:create_app", factory=True, http=limited_protocol(settings))
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(config)


async def test_the_workers_protocol_arrives_with_the_limits() -> None:
    factory = LimitedProtocolFactory(max_header_bytes=8_192, max_headers=20, header_timeout_s=3)
    # uvicorn's annotation names classes; any callable that makes the protocol is accepted.
    config = uvicorn.Config("module:create_app", factory=True, http=factory, workers=2)  # type: ignore[arg-type]
    arrived: uvicorn.Config = pickle.loads(pickle.dumps(config))  # noqa: S301 - our own bytes
    assert vars(arrived)["http"] == factory
    arrived.app = _app
    arrived.factory = False
    protocol = factory(config=arrived, server_state=ServerState(), app_state={})
    assert isinstance(protocol, LimitedHttpToolsProtocol)
    limits = (protocol.max_header_bytes, protocol.max_headers, protocol.header_timeout_s)
    assert limits == (8_192, 20, 3)
