"""The base model every v1 wire model derives from."""

from pydantic import BaseModel, ConfigDict

__all__ = ["WireModel"]


class WireModel(BaseModel):
    """Strict about unknown fields so that a typo on the wire is an error, not silence."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)
