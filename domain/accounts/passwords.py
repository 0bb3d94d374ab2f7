"""Password hashing with bcrypt (cost 12)."""

from __future__ import annotations

import bcrypt

BCRYPT_ROUNDS = 12
# A valid hash of a random secret: verified against when the username is unknown, so an
# unknown user costs the same time as a wrong password.
_DUMMY_HASH = bcrypt.hashpw(b"chargeops-no-such-user", bcrypt.gensalt(BCRYPT_ROUNDS)).decode()


def hash_password(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    """bcrypt hash (``$2b$...``) of ``password``."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when ``password`` matches ``password_hash``; with ``None`` burns equal time."""
    target = password_hash or _DUMMY_HASH
    try:
        ok = bcrypt.checkpw(password.encode("utf-8"), target.encode("ascii"))
    except ValueError:
        return False
    return ok and password_hash is not None
