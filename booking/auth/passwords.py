"""Password hashing with Argon2id; the cost comes from the settings (defaults: RFC 9106's
low-memory profile, which argon2-cffi also uses)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class HashCost:
    """Argon2id work factors. A stored hash carries its own, so verifying an old hash works
    after the cost changed; `needs_rehash` then says it should be hashed again."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4

    def problem(self) -> str | None:
        if self.time_cost < 1 or self.parallelism < 1:
            return "time cost and parallelism are at least 1"
        if self.memory_kib < 8 * self.parallelism:
            return "memory is at least 8 KiB per lane of parallelism"
        return None


@lru_cache(maxsize=4)
def _hasher(cost: HashCost) -> PasswordHasher:
    return PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism)


def hash_password(password: str, cost: HashCost) -> str:
    return _hasher(cost).hash(password)


def verify_password(password_hash: str | None, password: str, cost: HashCost) -> bool:
    if not password_hash:
        # Hash anyway so that unknown accounts take as long as known ones.
        _hasher(cost).hash(password)
        return False
    try:
        return _hasher(cost).verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, cost: HashCost) -> bool:
    return _hasher(cost).check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """A reason the password is too weak, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password needs at least {MIN_PASSWORD_LENGTH} characters"
    return None
