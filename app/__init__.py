"""Streamlit shell: entry script (router), login, role-filtered navigation, shared widgets."""
