# Stand-in for ghcr.io/astral-sh/uv when that registry cannot be reached: the same two binaries
# at the same paths, taken from the PyPI `uv` wheel of the same version.
FROM scratch
COPY uv uvx /
