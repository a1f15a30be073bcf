"""Make the first staff account: ``python -m core_service.admin.cli promote <username-or-email>``.

Staff endpoints need a staff caller, so the first one is made from the command line (with
``CORE_DATABASE_URL`` set, as for migrations). ``demote`` takes the role away again.
"""

import argparse
import asyncio

from sqlalchemy import func, or_, update
from sqlalchemy.ext.asyncio import create_async_engine

from core_service.config import Settings
from core_service.users.models import User

__all__ = ["main", "set_staff"]


async def set_staff(database_url: str, *, login: str, staff: bool) -> bool:
    """Set ``is_staff`` on the account with this username or email; False if there is none."""
    engine = create_async_engine(database_url)
    wanted = login.strip().lower()
    try:
        async with engine.begin() as connection:
            result = await connection.execute(
                update(User)
                .where(or_(func.lower(User.username) == wanted, func.lower(User.email) == wanted))
                .values(is_staff=staff)
            )
    finally:
        await engine.dispose()
    return bool(result.rowcount)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and apply it; the exit status is 1 for an unknown account."""
    parser = argparse.ArgumentParser(prog="python -m core_service.admin.cli")
    parser.add_argument("action", choices=["promote", "demote"])
    parser.add_argument("login", help="username or email of the account")
    args = parser.parse_args(argv)
    url = Settings().database_url
    if url is None:
        parser.error("set CORE_DATABASE_URL (or DATABASE_URL)")
    found = asyncio.run(set_staff(url, login=args.login, staff=args.action == "promote"))
    if not found:
        parser.exit(1, f"no account {args.login!r}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
