"""What `make run` prints once everything listens: where to click and whom to log in as."""

from __future__ import annotations

import importlib
from typing import Any


def demo_accounts() -> list[dict[str, Any]]:
    """`db.seed.DEMO_ACCOUNTS` when the seed module provides it, else nothing."""
    try:
        seed = importlib.import_module("db.seed")
    except ModuleNotFoundError as exc:
        if exc.name != "db.seed":
            print(f"警告：无法读取演示账号 / warning: cannot read demo accounts: {exc!r}")
        return []
    except Exception as exc:  # someone else's module mid-change must not take the runner down
        print(f"警告：无法读取演示账号 / warning: cannot read demo accounts: {exc!r}")
        return []
    accounts = getattr(seed, "DEMO_ACCOUNTS", [])
    return [a for a in accounts if isinstance(a, dict)]


def banner(web: str, temporal_ui: str, mail: str, accounts: list[dict[str, Any]]) -> str:
    lines = [
        "=" * 72,
        "湖南省事业单位人员继续教育平台已启动 / the training platform is running",
        f"  网站 / web:                  {web}",
        f"  Temporal 界面 / Temporal UI:  {temporal_ui}",
        f"  邮件收件箱 / mail inbox:      {mail}",
    ]
    if accounts:
        lines.append("演示账号 / demo accounts (角色 role · 登录名 login · 密码 password · 姓名 name):")
        lines += [
            "  " + " · ".join(str(a.get(key, "")) for key in ("role", "login", "password", "name"))
            for a in accounts
        ]
    lines += ["按 Ctrl-C 停止 / press Ctrl-C to stop", "=" * 72]
    return "\n".join(lines)
