"""Import every context's mapped classes so ``Base.metadata`` holds the whole model."""

from db.base import Base
from domain import business_calendar, slots
from domain.accounts import models as accounts
from domain.installations import models as installations
from domain.jobs import models as jobs
from domain.leads import models as leads
from domain.notifications import models as notifications
from domain.procurement import models as procurement
from domain.reporting import models as reporting
from domain.service import models as service
from domain.surveys import models as surveys

metadata = Base.metadata

__all__ = [
    "Base",
    "accounts",
    "business_calendar",
    "installations",
    "jobs",
    "leads",
    "metadata",
    "notifications",
    "procurement",
    "reporting",
    "service",
    "slots",
    "surveys",
    "metadata",
]
