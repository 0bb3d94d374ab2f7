"""Runtime settings, read from the environment (and `.env`) with pydantic-settings.

Every process (Streamlit app, scheduler sidecar, tests, benchmarks, Alembic) reads the same
settings, so `DATABASE_URL` selects the database everywhere.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_COOKIE_KEY = "chargeops-demo-cookie-key-change-me"


class Settings(BaseSettings):
    """Process settings.

    Attributes:
        database_url: SQLAlchemy URL; default an SQLite file under ``var/``.
        data_dir: directory for uploaded media and generated PDFs.
        timezone: IANA zone used to show and bucket times (weeks Monday-Sunday, months).
        demo_mode: when true the app accepts the default cookie key and shows demo logins.
        cookie_key: secret used to sign the login cookie.
        cookie_expiry_days: lifetime of the login cookie in days.
        lockout_attempts / lockout_minutes: failed logins before an account is locked, and for
            how long (minutes).
        time_slots: the bookable time slots of a working day (env ``TIME_SLOTS`` as JSON).
        procurement_approval_limit_inr: a procurement request whose estimated cost is above
            this amount (INR) needs a manager's (or admin's) approval (seed 004 / issue 4).
    """

    model_config = SettingsConfigDict(env_file=".env", env_prefix="", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{PROJECT_ROOT / 'var' / 'chargeops.db'}")
    data_dir: Path = Field(default=PROJECT_ROOT / "var" / "data")
    timezone: str = "Asia/Kolkata"
    demo_mode: bool = True
    cookie_key: str = DEFAULT_COOKIE_KEY
    cookie_name: str = "chargeops_auth"
    cookie_expiry_days: float = 1.0
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    sqlite_busy_timeout_ms: int = 15000
    time_slots: tuple[str, ...] = ("09-12", "12-15", "15-18")
    procurement_approval_limit_inr: Decimal = Decimal("10000")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()
