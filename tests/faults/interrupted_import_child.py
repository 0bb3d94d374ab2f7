"""Child process of ``test_interrupted_command``: imports a lead sheet and freezes half-way.

``python -m tests.faults.interrupted_import_child URL USER_ID OEM_ID SHEET.csv EVENT_FILE``
runs ``import_leads`` in one ``session_scope``. Right after the first batch of ``lead`` rows
has been sent to the database (``after_cursor_execute`` on ``INSERT INTO lead``), it counts
the rows its own open transaction can see, writes that number to ``EVENT_FILE`` and sleeps:
the test then kills it with SIGKILL, in the middle of the command.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event

import domain.models  # noqa: F401
from db.engine import make_engine, session_scope
from domain.accounts.dto import actor_for
from domain.accounts.models import AppUser
from domain.leads.importer import import_leads


def main(argv: list[str]) -> int:
    url, user_id, oem_id, sheet, event_file = argv
    extra: dict[str, Any] = {}
    if url.startswith("postgresql"):
        extra["connect_args"] = {"application_name": "chargeops-interrupted-child"}
    engine = make_engine(url, **extra)
    frozen = False

    @event.listens_for(engine, "after_cursor_execute")
    def _freeze(conn, cursor, statement, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        nonlocal frozen
        if frozen or not statement.lstrip().upper().startswith("INSERT INTO LEAD "):
            return
        frozen = True
        raw = conn.connection.dbapi_connection.cursor()
        raw.execute("SELECT count(*) FROM lead")
        seen = raw.fetchone()[0]
        raw.close()
        tmp = Path(event_file + ".tmp")
        tmp.write_text(str(seen))
        tmp.replace(event_file)
        time.sleep(600)  # wait here to be killed

    with session_scope(engine) as s:
        actor = actor_for(s.get(AppUser, uuid.UUID(user_id)))
        import_leads(
            s,
            actor,
            oem_id=uuid.UUID(oem_id),
            filename=Path(sheet).name,
            content=Path(sheet).read_bytes(),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
