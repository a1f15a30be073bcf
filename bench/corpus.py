"""A public corpus nobody here wrote: docstrings that ship with CPython, and questions about them.

Each question paraphrases what one object does, in the words a user would type; the other
docstrings are distractors. Used by the retrieval-quality benchmark.
"""

import importlib
import inspect

QUESTIONS: dict[str, str] = {
    "json.dumps": "How do I turn a Python object into a JSON text string?",
    "json.loads": "parse a JSON document held in bytes into Python data",
    "os.path.join": "combine several path components into one path",
    "os.path.splitext": "get the extension part of a file name",
    "os.makedirs": "create a folder together with all missing intermediate directories",
    "shutil.copytree": "copy an entire folder tree recursively to a new destination",
    "shutil.rmtree": "delete a directory and everything inside it",
    "shutil.which": "find where an executable command lives on the PATH",
    "itertools.groupby": "group consecutive items of an iterable that share a key",
    "itertools.product": "cartesian product of several iterables, like nested for loops",
    "functools.lru_cache": "memoize a function, evicting the least recently used results",
    "functools.reduce": "combine items cumulatively with a two-argument function into one value",
    "collections.Counter": "count how many times each hashable item occurs, a bag or multiset",
    "collections.defaultdict": "dictionary that calls a factory to supply a value for missing keys",
    "collections.deque": "list-like container optimized for adding and removing at both ends",
    "collections.namedtuple": "tuple subclass whose fields can be accessed by name",
    "heapq.nlargest": "get the n biggest elements of a dataset",
    "bisect.bisect_right": "index at which to insert an item so that a sorted list stays sorted",
    "textwrap.dedent": "strip the common leading whitespace from every line of text",
    "textwrap.wrap": "break one paragraph into lines no wider than a given width",
    "re.sub": "replace occurrences of a regular expression pattern in a string",
    "re.findall": "list every non-overlapping match of a pattern in a string",
    "random.sample": "choose k unique random elements from a population without replacement",
    "statistics.median": "middle value of some numeric data",
    "math.isclose": "check whether two floating point numbers are approximately equal",
    "datetime.timedelta": "represent the difference between two datetime values as a duration",
    "time.sleep": "pause execution for a number of seconds",
    "base64.b64encode": "encode a bytes-like object with Base64",
    "hmac.compare_digest": "compare two digests safely against timing analysis",
    "secrets.token_hex": "generate a random hexadecimal text string",
    "zlib.compress": "compress binary data, choosing a compression level",
    "gzip.open": "open a gzip-compressed file in text or binary mode",
    "difflib.SequenceMatcher": "compare pairs of sequences and find the longest matching blocks",
    "difflib.unified_diff": "produce a unified diff of two lists of lines",
    "fnmatch.fnmatch": "test whether a filename matches a shell-style wildcard pattern",
    "glob.glob": "list the paths that match a pathname pattern with wildcards",
    "tempfile.mkdtemp": "create a unique temporary directory and return its path",
    "subprocess.run": "run an external command and get back a CompletedProcess",
    "queue.Queue": "queue object with a given maximum size",
    "urllib.parse.urlencode": "encode a dict of parameters into a URL query string",
    "urllib.parse.quote": "percent-escape the special characters of a URL part",
    "ipaddress.ip_address": "turn an IP string or integer into an address object of the right type",
    "enum.Enum": "define a collection of name/value constants",
    "dataclasses.asdict": "convert a dataclass instance into a dictionary of its field values",
    "contextlib.suppress": "context manager that ignores the specified exceptions",
    "operator.itemgetter": "callable that fetches given items from its operand",
    "getpass.getpass": "prompt for a password with echo turned off",
    "fractions.Fraction": "rational numbers made of a numerator and a denominator",
    "pickle.dumps": "serialize an object to a bytes object with a chosen protocol",
    "tarfile.open": "open a tar archive for reading, writing or appending",
    "zipfile.ZipFile": "read, write and list zip files",
    "weakref.WeakValueDictionary": "mapping whose values vanish when nothing else refers to them",
    "decimal.Decimal": "exact decimal numbers constructed from a string, integer or tuple",
    "struct.pack": "pack values into a bytes object according to a format string",
}

DISTRACTORS = (
    "itertools.chain itertools.accumulate functools.partial collections.OrderedDict heapq.heappush"
    " bisect.insort_left re.escape random.shuffle statistics.stdev math.gcd time.monotonic"
    " hashlib.sha256 uuid.uuid4 string.Template shlex.split pprint.pformat copy.deepcopy"
    " calendar.isleap threading.Lock os.path.basename os.walk shutil.move itertools.islice"
    " collections.ChainMap heapq.merge textwrap.shorten re.split random.choice statistics.mean"
    " math.floor json.dump base64.b64decode zlib.decompress glob.iglob tempfile.NamedTemporaryFile"
).split()


def docstring(dotted: str) -> str:
    """The docstring of a standard-library object named by its dotted path."""
    module, _, attribute = dotted.rpartition(".")
    text = inspect.getdoc(getattr(importlib.import_module(module), attribute))
    return text or ""


def documents() -> dict[str, str]:
    """Every target and distractor with a non-empty docstring, keyed by dotted name."""
    names = [*QUESTIONS, *DISTRACTORS]
    return {name: text for name in names if (text := docstring(name))}
