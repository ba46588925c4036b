"""Every model module, imported so that Base.metadata knows all tables (Alembic, tests)."""

from db.models import catalog, orders, paysim, tasks, users  # noqa: F401
