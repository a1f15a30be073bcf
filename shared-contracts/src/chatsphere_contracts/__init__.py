"""Versioned wire models of the ChatSphere agent API; import a version module, e.g. ``v1``."""

from chatsphere_contracts import v1

__all__ = ["v1"]
