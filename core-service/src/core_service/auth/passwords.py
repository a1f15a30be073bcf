"""argon2id hashing with parameters from the settings, off the event loop."""

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from core_service.config import Settings
from core_service.users.exceptions import WeakPassword
from core_service.users.schemas import MIN_PASSWORD_LENGTH

__all__ = [
    "check_password_policy",
    "hash_password",
    "needs_rehash",
    "password_hasher",
    "verify_password",
]


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
    )


def password_hasher(settings: Settings) -> PasswordHasher:
    """The argon2id hasher for the configured cost."""
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


@lru_cache(maxsize=8)
def _decoy_hash(hasher: PasswordHasher) -> str:
    # Verified when the account does not exist, so that both cases cost one argon2 run.
    return hasher.hash("decoy password that matches no account")


async def hash_password(settings: Settings, password: str) -> str:
    """The argon2id hash of ``password`` (runs in a worker thread: it takes tens of ms)."""
    return await asyncio.to_thread(password_hasher(settings).hash, password)


async def verify_password(settings: Settings, *, hashed: str | None, password: str) -> bool:
    """Whether ``password`` matches ``hashed``; with no hash, spends the same time and says no."""
    hasher = password_hasher(settings)
    target = hashed if hashed is not None else await asyncio.to_thread(_decoy_hash, hasher)
    try:
        await asyncio.to_thread(hasher.verify, target, password)
    except (VerificationError, InvalidHashError):
        return False
    return hashed is not None


def needs_rehash(settings: Settings, hashed: str) -> bool:
    """True when ``hashed`` was made with other parameters than the configured ones."""
    return password_hasher(settings).check_needs_rehash(hashed)


def check_password_policy(password: str, *, username: str, email: str) -> None:
    """``WeakPassword`` unless the password is long enough and not the username or email."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    lowered = password.strip().lower()
    if lowered in {username.lower(), email.lower(), email.split("@", 1)[0].lower()}:
        raise WeakPassword("The password must not be the username or email address.")
