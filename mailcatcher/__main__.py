"""`python -m mailcatcher [--smtp-port N] [--http-port N] [--mail-dir DIR]`.

Defaults come from the settings the app itself uses to send mail (SMTP_HOST/SMTP_PORT,
MAILCATCHER_URL), so app and catcher agree without extra configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from urllib.parse import urlsplit

from config import get_settings
from mailcatcher.server import PortInUse, serve


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m mailcatcher", description="开发用邮件收件箱")
    parser.add_argument("--host", default=settings.smtp_host)
    parser.add_argument("--smtp-port", type=int, default=settings.smtp_port)
    parser.add_argument("--http-port", type=int, default=urlsplit(settings.mailcatcher_url).port or 8025)
    parser.add_argument("--mail-dir", type=Path, default=settings.var_dir / "mail")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args.smtp_port, args.http_port, args.mail_dir, host=args.host))
    except PortInUse as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # uvicorn re-raises the Ctrl-C it handled after a clean shutdown; that is a normal stop.
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
