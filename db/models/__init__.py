"""Every model module, imported so that Base.metadata knows all tables (Alembic, tests)."""

from db.models import (  # noqa: F401
    catalog,
    certificates,
    checkout,  # noqa: F401,E402
    compliance,  # noqa: F401,E402
    hours,  # noqa: F401,E402
    invoice_guard,  # noqa: F401,E402
    invoices,
    notices,  # noqa: F401,E402
    orders,
    paysim,
    reconciliation,  # noqa: F401,E402
    study,  # noqa: F401,E402
    tasks,
    unit_invoice,
    unit_qualification,
    users,
)
