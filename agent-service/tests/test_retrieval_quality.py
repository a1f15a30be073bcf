"""Retrieval quality on text nobody here wrote: standard-library docstrings (shipped with CPython).

Each docstring is one passage; each question paraphrases one docstring. With the default ``static``
embedder and hybrid search, the right passage must be in the top 5 for at least 80% of them.
"""

import bisect
import collections
import datetime
import functools
import heapq
import inspect
import itertools
import json
import math
import os.path
import random
import re
import shutil
import statistics
import string
import textwrap
from collections.abc import Callable

import httpx

CORPUS: dict[str, object] = {
    "json.dumps": json.dumps,
    "json.loads": json.loads,
    "collections.Counter": collections.Counter,
    "collections.OrderedDict": collections.OrderedDict,
    "collections.defaultdict": collections.defaultdict,
    "collections.deque": collections.deque,
    "collections.namedtuple": collections.namedtuple,
    "collections.ChainMap": collections.ChainMap,
    "heapq.heappush": heapq.heappush,
    "heapq.heappop": heapq.heappop,
    "heapq.nlargest": heapq.nlargest,
    "heapq.merge": heapq.merge,
    "itertools.chain": itertools.chain,
    "itertools.groupby": itertools.groupby,
    "itertools.permutations": itertools.permutations,
    "itertools.product": itertools.product,
    "itertools.accumulate": itertools.accumulate,
    "itertools.islice": itertools.islice,
    "functools.lru_cache": functools.lru_cache,
    "functools.partial": functools.partial,
    "functools.reduce": functools.reduce,
    "functools.wraps": functools.wraps,
    "textwrap.dedent": textwrap.dedent,
    "textwrap.wrap": textwrap.wrap,
    "textwrap.shorten": textwrap.shorten,
    "os.path.join": os.path.join,
    "os.path.splitext": os.path.splitext,
    "os.path.expanduser": os.path.expanduser,
    "shutil.copyfile": shutil.copyfile,
    "shutil.rmtree": shutil.rmtree,
    "shutil.which": shutil.which,
    "shutil.move": shutil.move,
    "re.sub": re.sub,
    "re.split": re.split,
    "re.escape": re.escape,
    "re.findall": re.findall,
    "statistics.median": statistics.median,
    "statistics.mean": statistics.mean,
    "statistics.stdev": statistics.stdev,
    "bisect.bisect_left": bisect.bisect_left,
    "bisect.insort": bisect.insort,
    "string.capwords": string.capwords,
    "random.shuffle": random.shuffle,
    "random.choice": random.choice,
    "random.sample": random.sample,
    "math.isclose": math.isclose,
    "math.gcd": math.gcd,
    "math.comb": math.comb,
    "datetime.timedelta": datetime.timedelta,
    "str.splitlines": str.splitlines,
    "str.zfill": str.zfill,
    "str.partition": str.partition,
    "list.sort": list.sort,
    "sorted": sorted,
    "zip": zip,
    "enumerate": enumerate,
    "isinstance": isinstance,
    "getattr": getattr,
}

QUESTIONS: dict[str, str] = {
    "How do I turn a Python object into a JSON string?": "json.dumps",
    "Which class tallies how many times each item occurs?": "collections.Counter",
    "What gives a dictionary a fallback value for missing keys?": "collections.defaultdict",
    "How can I make a tuple type whose fields have names?": "collections.namedtuple",
    "How can several dictionaries be searched together as one view?": "collections.ChainMap",
    "How do I take the smallest element off a heap?": "heapq.heappop",
    "How can I combine inputs that are already sorted into one sorted stream?": "heapq.merge",
    "How do I group consecutive items that share a key?": "itertools.groupby",
    "Which function produces the cartesian product of iterables?": "itertools.product",
    "How can I memoize a function so repeated calls are cached?": "functools.lru_cache",
    "How do I freeze some arguments of a function to get a new callable?": "functools.partial",
    "How do I strip the common indentation from every line of a text block?": "textwrap.dedent",
    "How do I truncate text to a width and add a placeholder at the end?": "textwrap.shorten",
    "How do I separate a filename from its extension?": "os.path.splitext",
    "How do I delete a directory and everything inside it?": "shutil.rmtree",
    "How can I find where an executable command lives on the PATH?": "shutil.which",
    "How do I replace the matches of a pattern in a string?": "re.sub",
    "What is the middle value of a list of numbers?": "statistics.median",
    "How do I check whether two floats are approximately equal?": "math.isclose",
    "How many ways are there to choose k items from n?": "math.comb",
}


def _passages() -> list[dict[str, str]]:
    return [
        {"id": name, "document_id": name, "text": _docstring(obj)} for name, obj in CORPUS.items()
    ]


def _docstring(obj: object) -> str:
    doc = inspect.getdoc(obj)
    assert doc, f"no docstring for {obj!r}"
    return doc[:4000]


async def test_paraphrased_questions_find_their_docstring_in_the_top_5(
    agent_client: httpx.AsyncClient,
    auth: dict[str, str],
    namespace: str,
    record_property: Callable[[str, object], None],
) -> None:
    assert len(CORPUS) >= 50
    upsert = {"namespace": namespace, "chunks": _passages()}
    assert (await agent_client.post("/v1/index/upsert", json=upsert, headers=auth)).is_success
    found = []
    for question, expected in QUESTIONS.items():
        body = {"namespace": namespace, "query": question, "top_k": 5}
        matches = (await agent_client.post("/v1/retrieve", json=body, headers=auth)).json()
        top = [match["chunk_id"] for match in matches["matches"]]
        found.append(expected in top)
    hit_rate = sum(found) / len(found)
    record_property("hit_rate_at_5", hit_rate)
    missed = [q for q, hit in zip(QUESTIONS, found, strict=True) if not hit]
    assert hit_rate >= 0.8, f"hit rate {hit_rate:.0%}; missed: {missed}"
