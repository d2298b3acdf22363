"""The `fieldscore` command: serve, migrate, demo, create-user, analytics-rebuild."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api_schemas.accounts import User


def _migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from backend import db
    from backend.piccolo_conf import DB

    db.bind(DB)

    async def forwards() -> Any:  # Piccolo's MigrationResult (success, message)
        try:
            return await run_forwards(app_name="all")
        finally:
            await db.close_pool(DB)

    result = asyncio.run(forwards())
    if not result.success:
        raise SystemExit(f"migration failed: {result.message}")


def cmd_migrate(_: argparse.Namespace) -> None:
    _migrate()
    print("migrations applied")


def cmd_demo(args: argparse.Namespace) -> None:
    from backend.demo import load_demo

    _migrate()  # a fresh database has no tables yet
    asyncio.run(load_demo(only_if_empty=args.if_empty))


def cmd_create_user(args: argparse.Namespace) -> None:
    import msgspec

    from api_schemas.accounts import Role, UserCreate
    from backend import db
    from backend.accounts import service
    from backend.accounts.security import Actor
    from backend.errors import FieldscoreError
    from backend.piccolo_conf import DB
    from backend.settings import load_settings

    password = args.password or os.environ.get("FIELDSCORE_PASSWORD") or getpass.getpass("Password: ")
    settings = load_settings()
    db.bind(DB)
    try:  # converted, not constructed: the constructor does not check the API's rules (e-mail, lengths)
        data = msgspec.convert(
            {
                "email": args.email,
                "name": args.name,
                "role": args.role,
                "password": password,
                "organisation_id": args.organisation,
            },
            UserCreate,
        )
    except msgspec.ValidationError as exc:
        raise SystemExit(f"fieldscore create-user: {exc}") from None
    system = Actor(user_id=None, role=Role.admin, organisation_id=None)  # type: ignore[arg-type]

    async def create() -> User:
        try:
            return await service.create_user(system, data, settings.passwords())
        finally:
            await db.close_pool(DB)

    try:
        user = asyncio.run(create())
    except FieldscoreError as exc:  # the API's rules beyond the schema, e.g. a common password
        reasons = "; ".join(f"{e.field}: {e.reason}" for e in exc.errors)
        raise SystemExit(f"fieldscore create-user: {exc.detail} ({reasons})") from None
    print(f"created {user.role.value} {user.email} ({user.id})")


def cmd_analytics_rebuild(_: argparse.Namespace) -> None:
    from backend import db
    from backend.analytics import facts
    from backend.piccolo_conf import DB

    _migrate()
    db.bind(DB)

    async def rebuild() -> int:
        try:
            return await facts.rebuild()
        finally:
            await db.close_pool(DB)

    print(f"analytics facts rebuilt from {asyncio.run(rebuild())} approved reports")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    _migrate()
    demo_logins = False
    if args.demo_if_empty:
        from backend.demo import load_demo

        demo_logins = asyncio.run(load_demo(only_if_empty=True))
    base = f"http://{args.host}:{args.port}"
    print(
        f"\nFieldscore on {base}\n  Phone app: {base}/app/  (shoppers)\n"
        f"  Console:   {base}/console/  (coordinators, managers, admins)\n"
        f"  API docs:  {base}/schema\n  OpenAPI:   {base}/schema/openapi.json\n  Health:    {base}/health"
    )
    if demo_logins:
        from backend.demo import DEMO_LOGINS

        print("  Demo logins (password for all: " + DEMO_LOGINS["password"] + "):")
        for role, email in DEMO_LOGINS["users"]:
            print(f"    {role:<12} {email}")
    sys.stdout.flush()
    uvicorn.run(
        "backend.app:create_app", factory=True, host=args.host, port=args.port, log_level="info", workers=args.workers
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fieldscore", description="Fieldscore service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate and serve the API")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--demo-if-empty", action="store_true", help="load the demo data into an empty database")
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("FIELDSCORE_WORKERS", "1")),
        help="server processes; on SQLite each group-commits its own requests and they take "
        "turns at the database file (backend.db.sqlite.WriterFileLock)",
    )
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("analytics-rebuild", help="recompute the analytics facts from the approved reports").set_defaults(
        func=cmd_analytics_rebuild
    )
    demo = sub.add_parser("demo", help="load the deterministic demo data")
    demo.add_argument("--if-empty", action="store_true", help="do nothing when users already exist")
    demo.set_defaults(func=cmd_demo)
    create = sub.add_parser("create-user", help="create a user (e.g. the first admin)")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=["admin", "coordinator", "manager", "shopper"])
    create.add_argument("--organisation", help="organisation id (managers)")
    create.add_argument("--password", help="prefer FIELDSCORE_PASSWORD or the prompt")
    create.set_defaults(func=cmd_create_user)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
