"""The README's settings reference lists every setting of both services, and only those."""

import re
from pathlib import Path

from agent_service.config import Settings as AgentSettings
from chatsphere_kit.settings import ServiceSettings
from core_service.config import Settings as CoreSettings

README = Path(__file__).resolve().parents[1] / "README.md"


def _reference() -> str:
    text = README.read_text()
    start = text.index("## Settings reference")
    assert "\n## " not in text[start + 3 :], "the settings reference must come last"
    return text[start:]


def _documented(reference: str) -> set[str]:
    names = set(re.findall(r"`((?:CORE|AGENT)_[A-Z0-9_]+)`", reference))
    shared = set(re.findall(r"`\*_([A-Z0-9_]+)`", reference))
    return names | {f"{prefix}{name}" for name in shared for prefix in ("CORE_", "AGENT_")}


def _variables() -> set[str]:
    core = {f"CORE_{name.upper()}" for name in CoreSettings.model_fields}
    agent = {f"AGENT_{name.upper()}" for name in AgentSettings.model_fields}
    return core | agent


def test_every_setting_is_in_the_reference_and_nothing_else() -> None:
    documented = _documented(_reference())

    assert _variables() - documented == set()
    assert documented - _variables() == set()


def test_the_shared_rows_are_the_kits_settings() -> None:
    # A row ``*_NAME`` stands for both prefixes: only settings both services have (the kit's).
    shared = set(re.findall(r"`\*_([A-Z0-9_]+)`", _reference()))

    assert {name.lower() for name in shared} == set(ServiceSettings.model_fields)
