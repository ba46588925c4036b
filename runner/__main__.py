"""`python -m runner` (= `make run`): the whole platform on one machine.

Temporal dev server -> mail catcher -> migrations -> demo data -> worker -> web, each waited for
before the next needs it. All state lives in var/ (Temporal's SQLite file, the app database,
caught mails), so a second run continues where the first stopped.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from config import Settings, get_settings
from runner.banner import banner, demo_accounts
from runner.ports import ensure_free, host_port, wait_for_port
from runner.processes import Supervisor, supervise
from runner.temporal_server import DevServer, dev_server_command, wait_until_ready

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


class Plan:
    """Hosts and ports, all derived from the same settings the app reads."""

    def __init__(self, settings: Settings) -> None:
        t_host, t_port = host_port(settings.temporal_address, 7233)
        _, ui_port = host_port(settings.temporal_ui_url, 8233)
        self.temporal = DevServer(
            db_file=settings.var_dir / "temporal.db", host=t_host, port=t_port, ui_port=ui_port,
            namespace=settings.temporal_namespace,
        )
        self.smtp = (settings.smtp_host, settings.smtp_port)
        self.mail_http = host_port(settings.mailcatcher_url, 8025)
        self.web = host_port(settings.base_url, 8000)
        self.urls = (settings.base_url, settings.temporal_ui_url, settings.mailcatcher_url)

    def ports(self) -> list[tuple[str, int, str]]:
        t = self.temporal
        return [
            (t.host, t.port, "Temporal"), (t.host, t.ui_port, "Temporal UI"),
            (*self.smtp, "SMTP 邮件"), (*self.mail_http, "邮件收件箱 mail page"), (*self.web, "web"),
        ]


# The demo course's chapters last 1–2 minutes: with the production captcha interval (10–20 minutes
# of playback) nobody trying the demo would ever see a 图形验证码. DOMAIN.md lets demo data shorten
# it; an explicit CAPTCHA_MIN_SECONDS / CAPTCHA_MAX_SECONDS in the environment still wins.
DEMO_ENV = {"CAPTCHA_MIN_SECONDS": "40", "CAPTCHA_MAX_SECONDS": "80"}


def start_all(sup: Supervisor, plan: Plan) -> None:
    for key, value in DEMO_ENV.items():
        os.environ.setdefault(key, value)
    sup.start("temporal", dev_server_command(plan.temporal))
    print(f"启动 Temporal 开发服务器 / starting the Temporal dev server on {plan.temporal.address} …")
    wait_until_ready(plan.temporal, timeout=90, check=sup.check_running)

    sup.start("mailcatcher", [PYTHON, "-m", "mailcatcher"])
    wait_for_port(*plan.smtp, "mailcatcher", timeout=20, check=sup.check_running)

    if (ROOT / "alembic.ini").exists():
        sup.run_step("alembic", [PYTHON, "-m", "alembic", "upgrade", "head"])
    else:
        print("警告：缺少 alembic.ini，跳过数据库迁移 / warning: no alembic.ini, migrations skipped")
    if _module_exists("db.seed"):
        sup.run_step("seed", [PYTHON, "-m", "db.seed"])
    else:
        print("警告：缺少 db/seed.py，跳过演示数据 / warning: no db.seed, demo data skipped")

    sup.start("worker", [PYTHON, "worker.py"])
    web_host, web_port = plan.web
    # QR pages hold a status request open up to 20 s: at Ctrl-C, cut them after 3 s instead of waiting
    sup.start("web", [PYTHON, "-m", "uvicorn", "api.app:create_app", "--factory",
                            "--host", web_host, "--port", str(web_port), "--timeout-graceful-shutdown", "3"])
    wait_for_port(web_host, web_port, "web", timeout=60, check=sup.check_running)


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False


def main() -> int:
    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    plan = Plan(settings)
    sup = Supervisor(cwd=ROOT)

    def start() -> None:
        for host, port, what in plan.ports():
            ensure_free(host, port, what)
        start_all(sup, plan)
        print(banner(*plan.urls, demo_accounts()), flush=True)

    return supervise(sup, start)


if __name__ == "__main__":
    sys.exit(main())
