"""The bot ``configuration``: defaults and bounds, validated on every write."""

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chatsphere_contracts.v1 import MAX_TOP_K, AgentType, ChatConfig

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "BotConfiguration",
    "BotConfigurationUpdate",
    "merge_configuration",
]

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant. Answer from the provided documents, cite the passages you use, "
    "and say so when the documents do not contain the answer."
)


class BotConfiguration(BaseModel):
    """How a bot chunks its documents and answers."""

    model_config = ConfigDict(extra="forbid")

    system_prompt: str = Field(
        default=DEFAULT_SYSTEM_PROMPT, max_length=8_000, description="Instructions for the model."
    )
    temperature: float = Field(default=0.2, ge=0.0, le=2.0, description="Sampling temperature.")
    agent_type: AgentType = Field(default=AgentType.RAG, description="'rag' or 'react'.")
    top_k: int = Field(default=5, ge=1, le=MAX_TOP_K, description="Passages used per answer.")
    chunk_size: int = Field(
        default=1_000, ge=100, le=8_000, description="Characters per passage when indexing."
    )
    chunk_overlap: int = Field(
        default=150, ge=0, le=4_000, description="Characters shared by neighbouring passages."
    )
    model: str | None = Field(default=None, max_length=200, description="Model name override.")
    tools: list[str] = Field(
        default_factory=list, max_length=20, description="Tools the 'react' agent may use."
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Self:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self

    def chat_config(self) -> ChatConfig:
        """The part of the configuration the agent needs to answer."""
        return ChatConfig(
            system_prompt=self.system_prompt,
            temperature=self.temperature,
            agent_type=self.agent_type,
            top_k=self.top_k,
            model=self.model,
            tools=self.tools or None,
        )


class BotConfigurationUpdate(BaseModel):
    """A partial configuration: the given fields replace the stored ones."""

    model_config = ConfigDict(extra="forbid")

    system_prompt: str | None = Field(default=None, max_length=8_000)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    agent_type: AgentType | None = None
    top_k: int | None = Field(default=None, ge=1, le=MAX_TOP_K)
    chunk_size: int | None = Field(default=None, ge=100, le=8_000)
    chunk_overlap: int | None = Field(default=None, ge=0, le=4_000)
    model: str | None = Field(default=None, max_length=200)
    tools: list[str] | None = Field(default=None, max_length=20)


def merge_configuration(stored: dict[str, Any], update: BotConfigurationUpdate) -> BotConfiguration:
    """The stored configuration with the update's given fields; raises ``ValidationError``."""
    merged = {
        **BotConfiguration.model_validate(stored).model_dump(),
        **update.model_dump(exclude_unset=True),
    }
    return BotConfiguration.model_validate(merged)
