"""ChargeOps domain layer: plain SQLAlchemy, one package per bounded context.

Nothing here imports ``streamlit``, ``app`` or ``pages``.
"""
