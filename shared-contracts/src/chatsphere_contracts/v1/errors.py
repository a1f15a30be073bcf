"""The error body every 4xx/5xx answer carries."""

from typing import Any

from pydantic import Field

from chatsphere_contracts.v1._base import WireModel

__all__ = ["ErrorBody", "FieldError"]


class FieldError(WireModel):
    """One invalid input field."""

    loc: list[str | int] = Field(description="Path to the field, e.g. ['body', 'texts', 0].")
    message: str = Field(description="Why the value was refused.")
    type: str = Field(description="Machine-readable kind of the failure.")


class ErrorBody(WireModel):
    """``{"error": "<MachineReadableCode>", "detail": "<human sentence>"}``."""

    error: str = Field(description="Machine-readable code, e.g. 'NotFound', 'QuotaExceeded'.")
    detail: str = Field(description="A sentence a person can read.")
    fields: list[FieldError] | None = Field(
        default=None, description="For validation errors: each field that was refused."
    )

    def to_json_dict(self) -> dict[str, Any]:
        """The body as sent: without ``fields`` when there are none."""
        return self.model_dump(mode="json", exclude_none=True)
