"""ChargeOps entry script (``streamlit run app/main.py``): a router only.

Page config, the login gate (``app.auth.require_login``), the user block in the sidebar, then
the role's pages through ``st.navigation``, in sections. No business rules here.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts only app/ on sys.path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.auth import password_change_required, render_sidebar_user, require_login  # noqa: E402
from app.nav import pages_for  # noqa: E402

st.set_page_config(page_title="ChargeOps", layout="wide")
actor = require_login()
render_sidebar_user(actor)
# Sections replace the fold after ten entries; each section header folds its own pages.
# A user whose password an admin set gets only My account until they choose their own.
menu = pages_for(actor.role, root=ROOT, password_change_only=password_change_required())
st.navigation(menu, expanded=True).run()
