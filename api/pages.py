"""What every trainee page shows around its content: the current school and the cart count."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.catalog import School
from db.models.orders import CartItem
from db.models.users import User

PAGE_SIZE = 12


async def trainee_context(request: Request, session: AsyncSession, user: User) -> dict[str, Any]:
    school_id = request.session.get("school_id")
    school = await session.get(School, school_id) if school_id is not None else None
    cart_count = await session.scalar(select(func.count()).select_from(CartItem).where(CartItem.trainee_id == user.id))
    return {"school": school, "cart_count": cart_count or 0}


def page_numbers(page: int, total: int, size: int = PAGE_SIZE) -> dict[str, int]:
    pages = max(1, -(-total // size))
    return {"page": min(max(page, 1), pages), "pages": pages, "total": total, "size": size}
