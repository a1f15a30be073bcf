"""Bot bodies of the API."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core_service.bots.configuration import BotConfiguration, BotConfigurationUpdate

__all__ = ["BotCreate", "BotRead", "BotUpdate"]


class BotCreate(BaseModel):
    """A new bot; the configuration takes its defaults for any field left out."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2_000)
    configuration: BotConfiguration = Field(default_factory=BotConfiguration)


class BotUpdate(BaseModel):
    """Any of the fields; ``configuration`` fields given replace the stored ones."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2_000)
    configuration: BotConfigurationUpdate | None = None


class BotRead(BaseModel):
    """A bot as its owner sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str
    configuration: BotConfiguration
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
