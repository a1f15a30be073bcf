"""The extractive answerer on its own: sentence choice, citations, the nothing-found answer."""

from agent_service.generation.extractive import NOTHING_FOUND, extract_answer
from agent_service.retrieval.store import StoredMatch


def passage(id_: str, text: str, score: float = 0.9) -> StoredMatch:
    return StoredMatch(id=id_, document_id=f"doc-{id_}", text=text, score=score)


def test_quotes_the_sentences_that_share_the_most_words_and_numbers_their_passages() -> None:
    passages = [
        passage("a", "The museum opens at nine. Tickets cost 12 euros for adults."),
        passage("b", "Children under six enter free. Adult tickets can be bought online."),
    ]
    answer = extract_answer("How much do adult tickets cost?", passages)
    assert answer.text.splitlines()[2] == '> "Tickets cost 12 euros for adults." [1]'
    assert [c.chunk_id for c in answer.citations] == ["a", "b"]
    assert answer.citations[0].snippet == "Tickets cost 12 euros for adults."


def test_says_so_when_no_sentence_is_related() -> None:
    passages = [passage("a", "The museum opens at nine.")]
    answer = extract_answer("Who painted the ceiling of the chapel?", passages)
    assert answer.text == NOTHING_FOUND
    assert answer.citations == []


def test_a_question_of_stopwords_only_finds_nothing() -> None:
    assert extract_answer("what is it?", [passage("a", "It is what it is.")]).citations == []
