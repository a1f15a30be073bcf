"""The ``rag`` agent type: retrieve once, then answer from the numbered passages."""

import re
from collections.abc import Sequence

from agent_service.generation.answers import AnswerComplete, AnswerStream, estimate_tokens
from agent_service.generation.extractive import EXTRACTIVE_MODEL, extract_answer
from agent_service.retrieval.hybrid import Retriever
from agent_service.retrieval.store import StoredMatch
from chatsphere_contracts.v1 import ChatRequest, TokenUsage

__all__ = ["extractive_answer_stream", "retrieve_for_chat"]

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
    retriever: Retriever, request: ChatRequest, *, top_k: int
) -> AnswerStream:
    """Quote the best sentences, word by word, then the citations."""
    passages = await retrieve_for_chat(retriever, request, top_k=top_k)
    answer = extract_answer(request.message, passages)
    for piece in _PIECE.findall(answer.text):
        yield piece
    usage = TokenUsage(
        input_tokens=estimate_tokens(request.message) + _passage_tokens(passages),
        output_tokens=estimate_tokens(answer.text),
    )
    yield AnswerComplete(citations=answer.citations, usage=usage, model=EXTRACTIVE_MODEL)


def _passage_tokens(passages: Sequence[StoredMatch]) -> int:
    return sum(estimate_tokens(passage.text) for passage in passages)
