"""The base model and text rules every v1 wire model shares."""

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetJsonSchemaHandler,
    Strict,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = [
    "JsonNumber",
    "StorableText",
    "StrictBool",
    "StrictFloat",
    "StrictInt",
    "WireModel",
    "storable_text",
]


class WireModel(BaseModel):
    """Strict about unknown fields so that a typo on the wire is an error, not silence."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


def storable_text(value: str) -> str:
    """Refuse what PostgreSQL cannot store: NUL characters and unpaired UTF-16 surrogates."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (it has an unpaired surrogate)") from None
    return value


class _NoNulPattern:
    """Says in the JSON schema what ``storable_text`` enforces, so clients can know it."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = "^[^\\u0000]*$"
        return schema


StorableText = Annotated[str, AfterValidator(storable_text), _NoNulPattern]
"""Text that can be stored and indexed: no NUL characters, no unpaired surrogates."""


def _number_not_bool_or_text(value: Any) -> Any:
    # Lax mode would read ``false`` as 0 and ``"5"`` as 5; JSON says neither is a number.
    if isinstance(value, bool | str | bytes):
        raise ValueError("must be a JSON number")
    return value


# JSON ``2.0`` is still an integer (as in JSON Schema); ``2.5``, ``true`` and ``"2"`` are not.
JsonNumber = BeforeValidator(_number_not_bool_or_text)
"""Marker for numbers; put bounds before it (``Annotated[int, Field(ge=1), JsonNumber]``) so
that they reach the JSON schema as ``minimum``/``maximum``."""
StrictInt = Annotated[int, JsonNumber]
StrictFloat = Annotated[float, JsonNumber]
StrictBool = Annotated[bool, Strict()]
