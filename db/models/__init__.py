"""Every model module, imported so that Base.metadata knows all tables (Alembic, tests)."""

from db.models import catalog, certificates, orders, paysim, tasks, users  # noqa: F401
from db.models import group_invoicing  # noqa: F401,E402
from db.models import hours  # noqa: F401,E402
