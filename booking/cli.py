"""The command line: serve, worker, db upgrade, demo, user create, user token, user erase,
privacy purge, backup, restore, report.

Thin over the services; every command reads the settings once and passes them on.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence

from booking.settings import Settings, SettingsError, load_settings


def _context(settings: Settings):  # type: ignore[no-untyped-def]
    from booking.db import Database
    from booking.services.context import AppContext

    return AppContext(database=Database(settings.database_url), settings=settings)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    host = args.host or settings.host
    port = args.port or settings.port
    url = settings.base_url if not (args.host or args.port) else f"http://{host}:{port}"
    print(f"booking serves on {url}  (database: {settings.database_url.split('@')[-1]})", flush=True)
    uvicorn.run(
        "booking.asgi:create", factory=True, host=host, port=port, workers=args.workers,
        # The app believes X-Forwarded-For only from auth.trusted_proxies (booking/auth/client_address.py);
        # uvicorn's own handling would trust any loopback client.
        log_level=args.log_level, proxy_headers=False,
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from booking.mail.runner import run_worker_until_interrupted

    asyncio.run(run_worker_until_interrupted(_context(settings), once=args.once))
    return 0


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from booking.db.migrate import upgrade

    upgrade(settings.database_url, args.revision)
    print(f"database at {args.revision}")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from booking.services.demo import load_demo_data

    async def run() -> list[tuple[str, str, str]]:
        context = _context(settings)
        try:
            return await load_demo_data(context)
        finally:
            await context.database.dispose()

    accounts = asyncio.run(run())
    from booking.services.demo import install_demo_legal_texts

    for path in install_demo_legal_texts(settings):
        print(f"demo legal text written: {path}")
    print("Demo data loaded. Demo accounts (role, e-mail, password):")
    for role, email, password in accounts:
        print(f"  {role:<22} {email:<36} {password}")
    return 0


def cmd_user_create(settings: Settings, args: argparse.Namespace) -> int:
    from booking.services.accounts import create_user

    password = args.password or getpass.getpass("Password: ")

    async def run() -> None:
        context = _context(settings)
        try:
            await create_user(
                context, email=args.email, display_name=args.name or args.email.split("@")[0],
                password=password, is_city_admin=args.admin, language=args.language,
            )
        finally:
            await context.database.dispose()

    asyncio.run(run())
    print(f"created {'city admin' if args.admin else 'user'} {args.email}")
    return 0


def cmd_user_token(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from booking.services.accounts import create_api_token

    async def run() -> str:
        context = _context(settings)
        expires_at = context.now() + timedelta(days=args.expires_days) if args.expires_days else None
        try:
            return await create_api_token(context, args.email, args.token_name, expires_at)
        finally:
            await context.database.dispose()

    print(asyncio.run(run()))
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from booking.db.backup import backup

    backup(settings.database_url, Path(args.path).absolute())
    print(f"backup written to {args.path}")
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from booking.db.backup import restore

    restore(settings.database_url, Path(args.path).absolute())
    print(f"database restored from {args.path}; run `booking db upgrade` if the backup is older than this release")
    return 0


def cmd_user_erase(settings: Settings, args: argparse.Namespace) -> int:
    from booking.services.privacy.erasure import erase_account

    async def run():  # type: ignore[no-untyped-def]
        context = _context(settings)
        try:
            return await erase_account(context, None, email=args.email)
        finally:
            await context.database.dispose()

    report = asyncio.run(run())
    print(f"erased {args.email}: {len(report.cancelled_bookings)} upcoming bookings cancelled, "
          f"{report.anonymised_bookings} bookings anonymised")
    return 0


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from booking.services import reporting

    if args.rebuild_summary:
        from booking.services import report_summary

        async def rebuild():  # type: ignore[no-untyped-def]
            context = _context(settings)
            try:
                await report_summary.rebuild(context)
            finally:
                await context.database.dispose()

        asyncio.run(rebuild())
        print("report summary rebuilt from the bookings", file=sys.stderr)
        if args.year is None:
            return 0
    elif args.year is None:
        print("booking report: --year is required (or --rebuild-summary)", file=sys.stderr)
        return 2

    async def run():  # type: ignore[no-untyped-def]
        context = _context(settings)
        try:
            return await reporting.build_report(context, reporting.Period.year(args.year))
        finally:
            await context.database.dispose()

    report = asyncio.run(run())
    if args.format == "json":
        print(json.dumps(reporting.tables_as_json(report), ensure_ascii=False, indent=1))
    else:
        # No BOM on a terminal or pipe; the web download adds it for spreadsheet programs.
        sys.stdout.write(reporting.tables_as_csv(report, delimiter=";" if args.semicolon else ","))
    return 0


def cmd_privacy_purge(settings: Settings, args: argparse.Namespace) -> int:
    from booking.services.privacy.retention import purge

    async def run():  # type: ignore[no-untyped-def]
        context = _context(settings)
        try:
            return await purge(context, dry_run=args.dry_run)
        finally:
            await context.database.dispose()

    report = asyncio.run(run())
    print("would purge (dry run):" if args.dry_run else "purged:")
    for line in report.lines():
        print(f"  {line}")
    return 0


def cmd_mailcatcher(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from booking.mail.catcher import serve

    directory = Path(args.directory) if args.directory else Path(settings.data_dir) / "mail"
    asyncio.run(serve(settings.mail.smtp_host, args.port or settings.mail.smtp_port, directory))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="booking", description="Shared-resource booking for volunteer networks")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web server (and the mail worker, by default)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1, help="app processes (stateless; use PostgreSQL for several)")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="send queued e-mail (run several for more throughput)")
    worker.add_argument("--once", action="store_true", help="send what is due, then exit")
    worker.set_defaults(handler=cmd_worker)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    upgrade = db.add_parser("upgrade", help="apply migrations")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=cmd_db_upgrade)

    demo = commands.add_parser("demo", help="load demo data (idempotent) and print the demo accounts")
    demo.set_defaults(handler=cmd_demo)

    backup = commands.add_parser("backup", help="write a consistent copy of the database to PATH (SQLite: online; PostgreSQL: pg_dump)")
    backup.add_argument("path")
    backup.set_defaults(handler=cmd_backup)
    restore = commands.add_parser("restore", help="replace the database with the backup at PATH (stop the service first)")
    restore.add_argument("path")
    restore.set_defaults(handler=cmd_restore)

    catcher = commands.add_parser("mailcatcher", help="development only: keep outgoing mail as files in DATA_DIR/mail")
    catcher.add_argument("--port", type=int)
    catcher.add_argument("--directory")
    catcher.set_defaults(handler=cmd_mailcatcher)

    user = commands.add_parser("user", help="accounts").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create an account")
    create.add_argument("email")
    create.add_argument("--name")
    create.add_argument("--password", help="omit to be asked")
    create.add_argument("--admin", action="store_true", help="a city-wide administrator")
    create.add_argument("--language", default="de", choices=["de", "en"])
    create.set_defaults(handler=cmd_user_create)
    token = user.add_parser("token", help="print a new personal API token")
    token.add_argument("email")
    token.add_argument("--name", dest="token_name", default="cli", help="what the token is for (shown on the profile page)")
    token.add_argument("--expires-days", type=int, help="the token stops working after this many days (default: never)")
    token.set_defaults(handler=cmd_user_token)
    erase = user.add_parser("erase", help="delete an account on the person's request (Art. 17 GDPR)")
    erase.add_argument("email")
    erase.set_defaults(handler=cmd_user_erase)

    report = commands.add_parser("report", help="print the yearly report's tables (aggregates only) as CSV or JSON")
    report.add_argument("--year", type=int, choices=range(2000, 2101), metavar="YEAR")
    report.add_argument("--format", choices=("csv", "json"), default="csv")
    report.add_argument("--semicolon", action="store_true", help="CSV with semicolons (German spreadsheet programs)")
    report.add_argument("--rebuild-summary", action="store_true",
                        help="recompute the report's monthly summary from all bookings (after raw imports; the worker "
                             "keeps it up to date otherwise)")
    report.set_defaults(handler=cmd_report)

    privacy = commands.add_parser("privacy", help="personal data").add_subparsers(dest="privacy_command", required=True)
    purge = privacy.add_parser("purge", help="apply the retention settings now (the worker does it on its own too)")
    purge.add_argument("--dry-run", action="store_true", help="only count what would be anonymised or deleted")
    purge.set_defaults(handler=cmd_privacy_purge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from booking import log_redaction

    log_redaction.install()
    try:
        settings = load_settings()
        return int(args.handler(settings, args))
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - a readable message, not a traceback
        from booking.db.backup import BackupError
        from booking.domain.errors import DomainError

        if isinstance(error, BackupError):
            print(f"error: {error}", file=sys.stderr)
            return 1
        if isinstance(error, DomainError):
            print(f"error: {error.message}", file=sys.stderr)
            return 1
        raise
