"""The ``rag`` agent type: retrieve once, then answer from the numbered passages."""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)

from agent_service.generation.answers import (
    AnswerComplete,
    AnswerStream,
    citations_for_answer,
    estimate_tokens,
    history_messages,
    numbered_passages,
    usage_of,
)
from agent_service.generation.extractive import EXTRACTIVE_MODEL, extract_answer
from agent_service.retrieval.hybrid import Retriever
from agent_service.retrieval.store import StoredMatch
from chatsphere_contracts.v1 import ChatRequest, TokenUsage

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "GROUNDING_RULES",
    "LlmChat",
    "extractive_answer_stream",
    "llm_answer_stream",
    "rag_messages",
    "retrieve_for_chat",
]

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant that answers questions about documents."
GROUNDING_RULES = (
    "Answer only from the numbered passages below. Cite every passage you use by its number in "
    "square brackets, like [1]. If the passages do not contain the answer, say plainly that the "
    "documents do not cover it."
)

_PIECE = re.compile(r"\S+\s*|\s+")


async def retrieve_for_chat(
    retriever: Retriever, request: ChatRequest, *, top_k: int
) -> list[StoredMatch]:
    """The passages an answer may draw on."""
    document_ids = request.filter.document_ids if request.filter else None
    return await retriever.retrieve(
        request.namespace, request.message, top_k=top_k, document_ids=document_ids
    )


async def extractive_answer_stream(
    retriever: Retriever, request: ChatRequest, *, top_k: int, stream: bool = True
) -> AnswerStream:
    """Quote the best sentences (word by word when streaming), then the citations."""
    passages = await retrieve_for_chat(retriever, request, top_k=top_k)
    answer = extract_answer(request.message, passages)
    for piece in _PIECE.findall(answer.text) if stream else [answer.text]:
        yield piece
    usage = TokenUsage(
        input_tokens=estimate_tokens(request.message) + _passage_tokens(passages),
        output_tokens=estimate_tokens(answer.text),
    )
    yield AnswerComplete(citations=answer.citations, usage=usage, model=EXTRACTIVE_MODEL)


def _passage_tokens(passages: Sequence[StoredMatch]) -> int:
    return sum(estimate_tokens(passage.text) for passage in passages)


def rag_messages(
    request: ChatRequest, passages: Sequence[StoredMatch], *, default_prompt: str
) -> list[BaseMessage]:
    """System prompt with the numbered passages, then the history, then the question."""
    instructions = request.config.system_prompt or default_prompt
    context = numbered_passages(passages) if passages else "(no passages were found)"
    system = f"{instructions}\n\n{GROUNDING_RULES}\n\nPassages:\n{context}"
    return [SystemMessage(system), *history_messages(request), HumanMessage(request.message)]


@dataclass(frozen=True, slots=True)
class LlmChat:
    """What an LLM answer needs besides the request."""

    retriever: Retriever
    model: BaseChatModel
    model_name: str
    top_k: int
    max_steps: int
    stream: bool
    default_prompt: str = DEFAULT_SYSTEM_PROMPT


async def llm_answer_stream(chat: LlmChat, request: ChatRequest) -> AnswerStream:
    """Retrieve once, then the model's answer (streamed when asked) citing passages by number."""
    passages = await retrieve_for_chat(chat.retriever, request, top_k=chat.top_k)
    messages = rag_messages(request, passages, default_prompt=chat.default_prompt)
    total: AIMessage | None = None
    if chat.stream:
        merged: AIMessageChunk | None = None
        async for chunk in chat.model.astream(messages):
            merged = chunk if merged is None else merged + chunk
            if chunk.text:
                yield chunk.text
        total = merged
    else:
        total = await chat.model.ainvoke(messages)
        if total.text:
            yield total.text
    answer = total.text if total is not None else ""
    yield AnswerComplete(
        citations=citations_for_answer(answer, passages),
        usage=usage_of(total, fallback_input=messages, answer=answer),
        model=chat.model_name,
    )
