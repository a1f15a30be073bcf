"""Liveness and readiness answers."""

from enum import StrEnum

from pydantic import Field

from chatsphere_contracts.v1._base import WireModel

__all__ = ["CheckStatus", "HealthResponse", "ReadinessResponse"]


class CheckStatus(StrEnum):
    """State of one dependency check."""

    OK = "ok"
    FAILING = "failing"


class HealthResponse(WireModel):
    """The process is up."""

    status: CheckStatus = Field(description="Always 'ok' when the process answers.")
    service: str = Field(description="Name of the answering service.")
    version: str = Field(description="Version of the answering service.")


class ReadinessResponse(WireModel):
    """Whether the service can do its work now, with one entry per dependency."""

    status: CheckStatus = Field(description="'ok' only when every check is 'ok'.")
    checks: dict[str, CheckStatus] = Field(description="Dependency name to its state.")
