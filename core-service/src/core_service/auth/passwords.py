"""argon2id hashing with parameters from the settings, in a bounded pool of its own threads.

Each hash costs tens of megabytes and tens of milliseconds of one CPU. ``Passwords`` runs at
most as many at once as there are CPUs. A request that will hash (sign-in, register, a
password change) first takes a place with ``admit``, before any database work: there are as
many places as hashing threads plus a short queue, and the requests beyond are answered at
once with ``PasswordHashingBusy`` (503 + ``Retry-After``) instead of all waiting until everyone
times out. One address may only hold a couple of places (429 beyond), so a flood from one
address costs a couple of hashes and no database work, and cannot take every place.
Callers must not hold a database connection while they hash.
"""

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from core_service.auth.exceptions import PasswordHashingBusy
from core_service.config import Settings
from core_service.ratelimit.exceptions import RateLimited
from core_service.users.exceptions import WeakPassword
from core_service.users.schemas import MIN_PASSWORD_LENGTH

__all__ = ["Passwords", "check_password_policy"]

_T = TypeVar("_T")


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
    )


@lru_cache(maxsize=8)
def _decoy_hash(hasher: PasswordHasher) -> str:
    # Verified when the account does not exist, so that both cases cost one argon2 run.
    return hasher.hash("decoy password that matches no account")


class Passwords:
    """Hash and verify passwords, never more at once than the configured workers."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = _hasher(
            settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
        )
        workers = settings.password_hash_workers or os.cpu_count() or 1
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._capacity = workers + settings.password_hash_queue
        self._per_address = settings.password_hash_per_address
        self._retry_after_s = settings.password_hash_retry_after_s
        self._admitted = 0
        self._by_address: Counter[str] = Counter()

    @asynccontextmanager
    async def admit(self, address: str) -> AsyncIterator[None]:
        """A place among the running and waiting hashes: ``RateLimited`` (429) when this address
        already holds its share, ``PasswordHashingBusy`` (503) when every place is taken."""
        if self._by_address[address] >= self._per_address:
            raise RateLimited(retry_after_s=self._retry_after_s)
        if self._admitted >= self._capacity:
            raise PasswordHashingBusy(retry_after_s=self._retry_after_s)
        self._admitted += 1
        self._by_address[address] += 1
        try:
            yield
        finally:
            self._admitted -= 1
            self._by_address[address] -= 1
            if not self._by_address[address]:
                del self._by_address[address]

    async def _run(self, work: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password`` (call inside ``admit``)."""
        return await self._run(lambda: self._hasher.hash(password))

    async def verify(self, *, hashed: str | None, password: str) -> bool:
        """Whether ``password`` matches ``hashed``; with no hash, spends the same and says no
        (call inside ``admit``)."""

        def check() -> bool:
            target = hashed if hashed is not None else _decoy_hash(self._hasher)
            try:
                self._hasher.verify(target, password)
            except (VerificationError, InvalidHashError):
                return False
            return hashed is not None

        return await self._run(check)

    def needs_rehash(self, hashed: str) -> bool:
        """True when ``hashed`` was made with other parameters than the configured ones."""
        return self._hasher.check_needs_rehash(hashed)

    def close(self) -> None:
        """Stop the hashing threads once the running hashes are done."""
        self._executor.shutdown(wait=False)


def check_password_policy(password: str, *, username: str, email: str) -> None:
    """``WeakPassword`` unless the password is long enough and not the username or email."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    lowered = password.strip().lower()
    if lowered in {username.lower(), email.lower(), email.split("@", 1)[0].lower()}:
        raise WeakPassword("The password must not be the username or email address.")
