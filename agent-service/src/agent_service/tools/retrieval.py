"""The document search tool of the ``react`` agent, bound to one namespace."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.tools import BaseTool, StructuredTool

from agent_service.generation.answers import AnswerClock
from agent_service.retrieval.hybrid import Retriever
from agent_service.retrieval.store import StoredMatch
from chatsphere_contracts.v1 import ToolName

__all__ = ["SearchLog", "search_tool"]

SEARCH_TOOL_NAME = ToolName.SEARCH_DOCUMENTS.value


@dataclass
class SearchLog:
    """Every passage the agent was shown, numbered across calls so that [n] stays unique."""

    passages: list[StoredMatch] = field(default_factory=list)

    def add(self, matches: Sequence[StoredMatch]) -> list[tuple[int, StoredMatch]]:
        """Number new passages (a passage seen before keeps its number)."""
        numbered = []
        for match in matches:
            known = next((i for i, p in enumerate(self.passages) if p.id == match.id), None)
            if known is None:
                self.passages.append(match)
                known = len(self.passages) - 1
            numbered.append((known + 1, match))
        return numbered


def search_tool(
    retriever: Retriever,
    *,
    namespace: str,
    top_k: int,
    document_ids: Sequence[str] | None,
    log: SearchLog,
    clock: AnswerClock,
) -> BaseTool:
    """A tool that searches the bot's documents; the model cannot choose the namespace."""

    async def search_documents(query: str) -> str:
        async with clock.retrieving():
            matches = await retriever.retrieve(
                namespace, query, top_k=top_k, document_ids=document_ids
            )
        if not matches:
            return "No passages matched."
        return "\n\n".join(f"[{n}] {match.text}" for n, match in log.add(matches))

    return StructuredTool.from_function(
        coroutine=search_documents,
        name=SEARCH_TOOL_NAME,
        description=(
            "Search the bot's documents. Input: a search query. Returns numbered passages; "
            "cite them as [n] in the answer."
        ),
    )
