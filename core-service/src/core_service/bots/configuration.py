"""The bot ``configuration``: defaults and bounds, validated on every write."""

from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from chatsphere_contracts.v1 import (
    MAX_TOP_K,
    AgentType,
    ChatConfig,
    JsonNumber,
    StorableText,
    StrictFloat,
    StrictInt,
    ToolName,
)

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "KNOWN_TOOLS",
    "BotConfiguration",
    "BotConfigurationUpdate",
    "WidgetSettings",
    "WidgetSettingsUpdate",
    "merge_configuration",
]

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant. Answer from the provided documents, cite the passages you use, "
    "and say so when the documents do not contain the answer."
)

# An unknown tool name used to leave the model with no tools at all, silently; it is refused.
KNOWN_TOOLS = tuple(tool.value for tool in ToolName)


def _known_tools(names: list[str] | None) -> list[str] | None:
    unknown = sorted({name for name in names or () if name not in KNOWN_TOOLS})
    if unknown:
        raise ValueError(
            f"unknown tool(s): {', '.join(unknown)}; the known tools are: {', '.join(KNOWN_TOOLS)}"
        )
    return names


# A CSS hex colour only: the page applies it as a style value, so nothing else may get through.
HexColor = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", examples=["#2563eb"])]
WidgetText = Annotated[StorableText, Field(max_length=500)]


class WidgetSettings(BaseModel):
    """How the embeddable chat widget and its hosted page look."""

    model_config = ConfigDict(extra="forbid")

    title: WidgetText = Field(
        default="", max_length=80, description="The chat's heading; the bot's name when empty."
    )
    greeting: WidgetText = Field(
        default="Hi! Ask me a question.", description="The first message the page shows."
    )
    color: HexColor = Field(default="#2563eb", description="Accent colour, as '#rrggbb'.")


class WidgetSettingsUpdate(BaseModel):
    """A partial widget section: the given fields replace the stored ones."""

    model_config = ConfigDict(extra="forbid")

    title: WidgetText | None = Field(default=None, max_length=80)
    greeting: WidgetText | None = None
    color: HexColor | None = None


class BotConfiguration(BaseModel):
    """How a bot chunks its documents and answers."""

    model_config = ConfigDict(extra="forbid")

    system_prompt: StorableText = Field(
        default=DEFAULT_SYSTEM_PROMPT, max_length=8_000, description="Instructions for the model."
    )
    temperature: StrictFloat = Field(
        default=0.2, ge=0.0, le=2.0, description="Sampling temperature."
    )
    agent_type: AgentType = Field(default=AgentType.RAG, description="'rag' or 'react'.")
    top_k: StrictInt = Field(default=5, ge=1, le=MAX_TOP_K, description="Passages used per answer.")
    chunk_size: StrictInt = Field(
        default=1_000, ge=100, le=8_000, description="Characters per passage when indexing."
    )
    chunk_overlap: StrictInt = Field(
        default=150, ge=0, le=4_000, description="Characters shared by neighbouring passages."
    )
    model: StorableText | None = Field(
        default=None, max_length=200, description="Model name override."
    )
    tools: Annotated[list[StorableText], AfterValidator(_known_tools)] = Field(
        default_factory=list,
        max_length=20,
        description=f"Tools the 'react' agent may use, of: {', '.join(KNOWN_TOOLS)}.",
    )
    widget: WidgetSettings = Field(
        default_factory=WidgetSettings,
        description="The embeddable widget's title, greeting, colour.",
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

    system_prompt: StorableText | None = Field(default=None, max_length=8_000)
    temperature: Annotated[float, Field(ge=0.0, le=2.0), JsonNumber] | None = None
    agent_type: AgentType | None = None
    top_k: Annotated[int, Field(ge=1, le=MAX_TOP_K), JsonNumber] | None = None
    chunk_size: Annotated[int, Field(ge=100, le=8_000), JsonNumber] | None = None
    chunk_overlap: Annotated[int, Field(ge=0, le=4_000), JsonNumber] | None = None
    model: StorableText | None = Field(default=None, max_length=200)
    tools: Annotated[list[StorableText] | None, AfterValidator(_known_tools)] = Field(
        default=None, max_length=20
    )
    widget: WidgetSettingsUpdate | None = None


def merge_configuration(stored: dict[str, Any], update: BotConfigurationUpdate) -> BotConfiguration:
    """The stored configuration with the update's given fields; raises ``ValidationError``."""
    current = BotConfiguration.model_validate(stored).model_dump()
    changes = update.model_dump(exclude_unset=True)
    # The widget section merges field by field too: setting the colour keeps the greeting.
    changes["widget"] = {**current["widget"], **(changes.get("widget") or {})}
    merged = {**current, **changes}
    return BotConfiguration.model_validate(merged)
