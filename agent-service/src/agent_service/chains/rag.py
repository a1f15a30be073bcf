"""The ``rag`` agent type: retrieve once, then answer from the numbered passages."""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent_service.generation.answers import (
    AnswerClock,
    AnswerComplete,
    AnswerStream,
    citations_for_answer,
    estimate_tokens,
    history_messages,
    numbered_passages,
    usage_of,
)
from agent_service.generation.extractive import EXTRACTIVE_MODEL, extract_answer, quote_lead
from agent_service.generation.text_streams import StreamedText, TextStream
from agent_service.retrieval.hybrid import Retriever
from agent_service.retrieval.store import StoredMatch
from chatsphere_contracts.v1 import ChatRequest, ChatRole, TokenUsage

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "GROUNDING_RULES",
    "NOT_COVERED",
    "LlmChat",
    "extractive_answer_stream",
    "llm_answer_stream",
    "conversation_context",
    "rag_messages",
    "retrieve_for_chat",
    "standalone_question",
]

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant that answers questions about documents."
GROUNDING_RULES = (
    "Answer only from the numbered passages below. Cite every passage you use by its number in "
    "square brackets, like [1]. If the passages do not contain the answer, say plainly that the "
    "documents do not cover it."
)

_PIECE = re.compile(r"\S+\s*|\s+")


_CONTEXT_TURNS = 2
_CONTEXT_CHARS = 1_000
NOT_COVERED = "The documents of this bot do not cover this question."
_STANDALONE_PROMPT = (
    "Rewrite the user's last message as one standalone question that can be understood "
    "without the conversation, keeping its names, codes and numbers. If it already stands "
    "alone, repeat it unchanged. Answer with the question only."
)


# Without a model to rewrite it, a message reads as a follow-up when it refers back ("is it
# paid?", "do they expire?") or continues ("and when ...?", "what about ...?"). Any other message
# is taken on its own, so that a new question is never answered from the previous topic.
_FOLLOW_UP = re.compile(
    r"^\s*(and|but|or|also|so|then|what about|how about)\b"
    r"|\b(it|its|they|them|their|that|this|those|these|there|he|she|him|her)\b",
    re.IGNORECASE,
)


def conversation_context(request: ChatRequest) -> str | None:
    """The conversation's recent questions when the message refers back to them."""
    if not _FOLLOW_UP.search(request.message):
        return None
    asked = [turn.content for turn in request.history if turn.role is ChatRole.USER]
    recent = " ".join(asked[-_CONTEXT_TURNS:])
    return recent[-_CONTEXT_CHARS:] or None


async def retrieve_for_chat(
    retriever: Retriever,
    request: ChatRequest,
    *,
    top_k: int,
    clock: AnswerClock,
    query: str | None = None,
) -> list[StoredMatch]:
    """The passages an answer may draw on: relevant ones only, found with the conversation.

    ``query`` replaces the message and its context when a model has already rewritten the
    message as a standalone question.
    """
    document_ids = request.filter.document_ids if request.filter else None
    async with clock.retrieving():
        matches = await retriever.retrieve(
            request.namespace,
            query or request.message,
            context=None if query else conversation_context(request),
            top_k=top_k,
            document_ids=document_ids,
        )
    return [match for match in matches if retriever.is_relevant(match)]


async def extractive_answer_stream(
    retriever: Retriever,
    request: ChatRequest,
    *,
    top_k: int,
    clock: AnswerClock,
    stream: bool = True,
) -> AnswerStream:
    """Quote the best sentences (word by word when streaming), then the citations."""
    passages = await retrieve_for_chat(retriever, request, top_k=top_k, clock=clock)
    answer = extract_answer(request.message, passages)
    context = conversation_context(request)
    if not answer.citations and context:
        # A follow-up may share no word with the sentence that answers it ("and when is it
        # skipped?" against "The backup is skipped when ..."): read it with its context.
        answer = extract_answer(f"{request.message} {context}", passages)
    by_meaning = [p for p in passages if (p.similarity or 0.0) >= retriever.min_similarity]
    if not answer.citations and by_meaning:
        answer = quote_lead(max(by_meaning, key=lambda passage: passage.similarity or 0.0))
    for piece in _PIECE.findall(answer.text) if stream else [answer.text]:
        yield piece
    usage = TokenUsage(
        input_tokens=estimate_tokens(request.message) + _passage_tokens(passages),
        output_tokens=estimate_tokens(answer.text),
    )
    yield AnswerComplete(
        citations=answer.citations,
        usage=usage,
        model=EXTRACTIVE_MODEL,
        answered=bool(answer.citations),
    )


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
    text_stream: TextStream
    model_name: str
    top_k: int
    max_steps: int
    stream: bool
    clock: AnswerClock
    default_prompt: str = DEFAULT_SYSTEM_PROMPT


async def standalone_question(chat: "LlmChat", request: ChatRequest) -> str | None:
    """The message rewritten by the model to stand alone, or None when there is no history."""
    if not any(turn.role is ChatRole.USER for turn in request.history):
        return None
    messages = [
        SystemMessage(_STANDALONE_PROMPT),
        *history_messages(request),
        HumanMessage(request.message),
    ]
    rewritten = (await chat.model.ainvoke(messages)).text.strip()
    return rewritten or None


async def llm_answer_stream(chat: LlmChat, request: ChatRequest) -> AnswerStream:
    """Retrieve once, then the model's answer (streamed when asked) citing passages by number.

    When nothing relevant was found the model is not asked: it would have nothing to ground an
    answer on, and users must be able to tell an answer from a guess.
    """
    query = await standalone_question(chat, request)
    passages = await retrieve_for_chat(
        chat.retriever, request, top_k=chat.top_k, clock=chat.clock, query=query
    )
    if not passages:
        yield NOT_COVERED
        yield AnswerComplete(
            citations=[],
            usage=TokenUsage(input_tokens=estimate_tokens(request.message), output_tokens=0),
            model=chat.model_name,
            answered=False,
        )
        return
    messages = rag_messages(request, passages, default_prompt=chat.default_prompt)
    total: AIMessage | None = None
    if chat.stream:
        streamed = StreamedText()
        async for text in chat.text_stream(messages, streamed):
            yield text
        total = streamed.message()
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
