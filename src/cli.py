"""The `clientgraph` command: each subcommand, its options and what it prints."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import uuid
from datetime import datetime
from pathlib import Path

import orjson
from clientgraph import links, mail_sink, passwords
from clientgraph.auth.access_tokens import issue_token
from clientgraph.auth.link_tokens import link_token
from clientgraph.db import models, tenancy
from clientgraph.db.engine import Database
from clientgraph.db.migrate import UnknownRevision, migrate_reporting, upgrade_for_server
from clientgraph.db.queries import fold
from clientgraph.ids import decode_id
from clientgraph.logs import configure_worker_logging
from clientgraph.resolvers.api_keys import issue_for_operator
from clientgraph.resolvers.credentials import LINK_LIFETIME, replace_password
from clientgraph.resolvers.enums import EmailDeliveryStatus, Permission
from clientgraph.resolvers.errors import Forbidden, UserErrors
from clientgraph.resolvers.firms import NewFirm, create_firm_with_owner_link
from clientgraph.settings import Settings, get_settings
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

DESCRIPTION = "Serve the clientgraph API and run its operator commands."

EXAMPLE_QUERY = """{
  viewer { user { name role } firm { name settings { clientOwnershipEnabled } } }
  accounts(first: 5, filter: {ownedByMe: true}, orderBy: {field: NAME, direction: ASC}) {
    totalCount
    nodes { name customerNumber owner { name } tags teamMembers { name } }
  }
  clientOwners(first: 10) { nodes { name accountCount user { email } } }
}"""


def _token(settings: Settings, user_id: uuid.UUID, firm_id: uuid.UUID) -> str:
    return issue_token(
        settings.signing_secret(),
        user_id=user_id,
        firm_id=firm_id,
        ttl_seconds=settings.token_ttl_seconds,
    )


async def _find_user(db: Database, email: str, firm: str | None) -> models.User:
    query = select(models.User).where(
        models.User.email_folded == fold(email.strip()), models.User.deleted_at.is_(None)
    )
    if firm:
        firm_id = decode_id(firm, "Firm")
        try:
            firm_id = firm_id or uuid.UUID(firm)
        except ValueError:
            raise SystemExit(f"--firm {firm!r} is neither a firm id nor a firm's uuid") from None
        query = query.where(models.User.firm_id == firm_id)
        session = db.firm_session(firm_id)
    else:
        session = db.read_sessions(info=tenancy.every_firm())
    async with session:
        found = list(await session.scalars(query))
    if not found:
        raise SystemExit(f"no user with email {email}")
    if len(found) > 1:
        firms = ", ".join(str(user.firm_id) for user in found)
        raise SystemExit(f"{email} is a user in several firms ({firms}); pass --firm")
    return found[0]


async def prepare_demo(settings: Settings, server_url: str) -> None:
    from clientgraph.demo import DEMO_PASSWORD, DEMO_PORTAL_EMAIL, DEMO_PORTAL_PASSWORD, seed_demo

    db = _owner_database(settings)
    try:
        user_id = await seed_demo(db, server_url=server_url)
        async with db.read_sessions(info=tenancy.every_firm()) as session:
            user = await session.get_one(models.User, user_id)
    finally:
        await db.dispose()
    token = _token(settings, user.id, user.firm_id)
    print(f"\nDemo firm ready. Open {server_url}/graphql and sign in as the demo owner:\n")
    print(f"    e-mail:   {user.email}\n    password: {DEMO_PASSWORD}\n")
    print("Other API clients (curl, scripts) send this header:\n")
    print(orjson.dumps({"Authorization": f"Bearer {token}"}).decode())
    print("\nThen try this query:\n")
    print(EXAMPLE_QUERY)
    print(
        "\nOther demo users, with the same password (or a token from "
        "`.venv/bin/clientgraph token EMAIL`): bjorn@nordlys.example (edits all), "
        "clara@nordlys.example (assigned accounts only), dan@nordlys.example (read-only).",
    )
    credentials = orjson.dumps({"email": DEMO_PORTAL_EMAIL, "password": DEMO_PORTAL_PASSWORD})
    print(f"\nA client of the portal: {DEMO_PORTAL_EMAIL}, password {DEMO_PORTAL_PASSWORD}:\n")
    print(
        f"  curl -s {server_url}/portal/login -H 'Content-Type: application/json' "
        f"-d '{credentials.decode()}'\n",
        flush=True,
    )


def _owner_database(settings: Settings) -> Database:
    """The tables' owner: operator commands work across firms and set the firm themselves."""
    return Database(settings.database_url, timeouts=settings.database_timeouts())


def serve(args: argparse.Namespace) -> None:
    from clientgraph.web.server import ServeOptions, check_port_free
    from clientgraph.web.server import serve as run_server

    check_port_free(args.host, args.port)
    settings = get_settings()
    settings.signing_secret()
    factory = "clientgraph.app:create_migrating_app"
    if args.demo or make_url(settings.database_url).get_backend_name() == "sqlite":
        # An embedded file cannot be down, and the demo needs its data before serving: migrate
        # first. A server database may come up after the service, which then migrates it.
        upgrade_for_server(settings)
        factory = "clientgraph.app:create_app"
    if args.demo:
        asyncio.run(prepare_demo(settings, links.base_url(args.host, args.port)))
    run_server(
        ServeOptions(
            factory=factory,
            host=args.host,
            port=args.port,
            workers=args.workers,
            access_log=args.access_log or settings.access_log,
            http=settings.http_parser,
            loop=settings.event_loop,
            tcp_nodelay=settings.tcp_nodelay,
            reuse_port=settings.reuse_port,
            gc_freeze=settings.gc_freeze,
            gc_threshold=settings.gc_threshold,
            tracemalloc=settings.tracemalloc,
            log_format=settings.log_format,
            ws_max_size=settings.ws_max_message_bytes,
        )
    )


def worker(_: argparse.Namespace) -> None:
    from clientgraph.outbox.mail import InvalidSmtpUrl
    from clientgraph.outbox.render import InvalidMailFrom
    from clientgraph.outbox.service import run_worker

    configure_worker_logging(get_settings().log_format)
    try:
        asyncio.run(run_worker(get_settings()))
    except (InvalidSmtpUrl, InvalidMailFrom) as error:
        raise SystemExit(str(error)) from None


def migrate(_: argparse.Namespace) -> None:
    try:
        print(migrate_reporting(get_settings()).describe())
    except UnknownRevision as error:
        raise SystemExit(f"cannot migrate: {error}") from None


def create_firm_command(args: argparse.Namespace) -> None:
    from clientgraph.outbox import service
    from clientgraph.outbox.mail import InvalidSmtpUrl
    from clientgraph.outbox.render import InvalidMailFrom

    settings = get_settings()
    try:
        mail, smtp = service.relay_config(settings).mail, service.transport(settings)
    except (InvalidSmtpUrl, InvalidMailFrom) as error:
        raise SystemExit(f"{error}; nothing created") from None

    async def run() -> tuple[NewFirm, tuple[str, str | None] | None]:
        db = _owner_database(settings)
        try:
            created = await create_firm_with_owner_link(
                db,
                name=args.name,
                admin_email=args.admin_email,
                admin_name=args.admin_name,
                email_link=smtp is not None,
            )
            email_id = created.owner_link.email_id
            if email_id is None:
                return created, None
            return created, await service.send_now(settings, db, created.firm_id, email_id)
        finally:
            await db.dispose()

    try:
        created, sent = asyncio.run(run())
    except UserErrors as error:
        raise SystemExit(f"cannot create the firm: {error}") from error
    secret = settings.signing_secret()
    link = links.set_password_url(
        link_token(secret, created.owner_link.token_id), app_url=mail.app_url
    )
    token = _token(settings, created.owner_id, created.firm_id)
    print(
        orjson.dumps(
            {
                "firmId": str(created.firm_id),
                "userId": str(created.owner_id),
                "token": token,
                "setPasswordUrl": link,
            }
        ).decode()
    )
    hours = int(LINK_LIFETIME.total_seconds() // 3600)
    print(
        f"The owner chooses a password at this link (it works once, within {hours} hours),"
        f" then signs in:\n\n    {link}\n\n{_link_email_outcome(sent)}",
        file=sys.stderr,
    )


def _link_email_outcome(sent: tuple[str, str | None] | None) -> str:
    if sent is None:
        return "Not e-mailed: CLIENTGRAPH_SMTP_URL is not set."
    status, error = sent
    if status == EmailDeliveryStatus.SENT:
        return "E-mailed to the owner too."
    if status == EmailDeliveryStatus.FAILED:
        return f"The e-mail to the owner failed: {error}"
    relays = "`clientgraph serve` or `clientgraph worker`"
    if error:
        return f"The e-mail to the owner was not sent yet ({error}); {relays} tries again."
    return f"The e-mail to the owner is queued: {relays} sends it."


def token_command(args: argparse.Namespace) -> None:
    settings = get_settings()

    async def run() -> models.User:
        db = _owner_database(settings)
        try:
            return await _find_user(db, args.email, args.firm)
        finally:
            await db.dispose()

    user = asyncio.run(run())
    print(_token(settings, user.id, user.firm_id))


def _new_password() -> str:
    """Typed twice without echo on a terminal; else the first line of stdin."""
    if sys.stdin.isatty():
        password = getpass.getpass("New password: ")
        if getpass.getpass("The same again: ") != password:
            raise SystemExit("the two passwords differ; nothing changed")
    else:
        password = sys.stdin.readline(passwords.MAX_LENGTH + 2).rstrip("\r\n")
    try:
        return passwords.check_new_password(password)
    except passwords.PasswordRejected as rejected:
        raise SystemExit(f"{rejected}; nothing changed") from None


def set_password_command(args: argparse.Namespace) -> None:
    settings = get_settings()

    async def find() -> models.User:
        db = _owner_database(settings)
        try:
            return await _find_user(db, args.email, args.firm)
        finally:
            await db.dispose()

    found = asyncio.run(find())
    password_hash = passwords.hash_sync(_new_password())

    async def store() -> None:
        db = _owner_database(settings)

        async def work(session: AsyncSession) -> None:
            user = await session.get_one(models.User, found.id, with_for_update=True)
            await replace_password(session, user, password_hash)

        try:
            await db.write(work, firm_id=found.firm_id)
        finally:
            await db.dispose()

    asyncio.run(store())
    print(f"password set for {found.email}; their other sign-ins are ended")


def _permissions(values: list[str]) -> list[Permission]:
    """`--permission` values, each one name or a comma-separated list of names."""
    names = [name.strip().upper() for value in values for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in Permission.__members__]
    if unknown:
        known = ", ".join(Permission)
        raise SystemExit(f"unknown permission {', '.join(unknown)}; known: {known}")
    return [Permission(name) for name in names]


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise SystemExit(f"--expires-at {value!r} is not an ISO 8601 date and time") from None


def create_api_key_command(args: argparse.Namespace) -> None:
    settings = get_settings()
    permissions = _permissions(args.permission)
    expires_at = _moment(args.expires_at)

    async def run() -> str:
        db = _owner_database(settings)
        try:
            creator = await _find_user(db, args.email, args.firm)
            return await issue_for_operator(
                db,
                firm_id=creator.firm_id,
                creator_id=creator.id,
                name=args.name,
                permissions=permissions,
                expires_at=expires_at,
            )
        finally:
            await db.dispose()

    try:
        print(asyncio.run(run()))
    except (UserErrors, Forbidden) as error:
        raise SystemExit(f"cannot create the key: {error}") from error


def register_documents_command(args: argparse.Namespace) -> None:
    from clientgraph.web.persisted import InvalidRegistration, manifest_documents, register

    directory = args.dir or get_settings().persisted_queries_dir
    if directory is None:
        raise SystemExit("set CLIENTGRAPH_PERSISTED_QUERIES_DIR or pass --dir")
    documents: list[tuple[str, str]] = []
    try:
        for path in args.files:
            if path.suffix == ".json":
                found = manifest_documents(path).items()
                documents += [(document, f"{path} ({key[:12]}…)") for key, document in found]
            else:
                documents.append((path.read_text(), str(path)))
    except (OSError, InvalidRegistration) as error:
        raise SystemExit(f"nothing registered: {error}") from None
    hashes = register(directory, [document for document, _ in documents])
    for key, (_, source) in zip(hashes, documents, strict=True):
        print(f"{key}  {source}")


def mail_sink_command(args: argparse.Namespace) -> None:
    def write(text: str) -> None:
        print(text, flush=True)

    try:
        asyncio.run(mail_sink.run(args.host, args.port, write))
    except mail_sink.MailSinkUnavailable as error:
        raise SystemExit(str(error)) from None
    except OSError as error:
        raise SystemExit(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    except KeyboardInterrupt:
        pass


def export_schema(_: argparse.Namespace) -> None:
    from clientgraph.schema.schema import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="clientgraph", description=DESCRIPTION)
    commands = root.add_subparsers(dest="command", required=True)
    any_firm = "the firm's id, when the e-mail is a user in several firms (default: the one firm)"

    serve_parser = commands.add_parser(
        "serve", help="serve /graphql, migrating first (a server database: once it answers)"
    )
    serve_parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve_parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default: %(default)s)"
    )
    serve_parser.add_argument(
        "--workers", type=int, default=1, help="server processes (default: %(default)s)"
    )
    serve_parser.add_argument(
        "--demo", action="store_true", help="seed the demo firm once (default: off)"
    )
    serve_parser.add_argument(
        "--access-log",
        action="store_true",
        help="log one line per request (default: off, or CLIENTGRAPH_ACCESS_LOG)",
    )
    serve_parser.set_defaults(handler=serve)

    commands.add_parser(
        "migrate", help="bring the database to the newest migration and say what it did"
    ).set_defaults(handler=migrate)
    commands.add_parser(
        "worker", help="run the outbox relay (e-mail, webhooks) without serving HTTP"
    ).set_defaults(handler=worker)

    firm_parser = commands.add_parser(
        "create-firm",
        help="create a firm and its first owner; print the owner's one-time set-password link",
    )
    firm_parser.add_argument("name", help="the firm's name")
    firm_parser.add_argument(
        "--admin-email", required=True, metavar="EMAIL", help="the owner's e-mail (required)"
    )
    firm_parser.add_argument(
        "--admin-name",
        metavar="NAME",
        help="the owner's name (default: the part of the e-mail before the @)",
    )
    firm_parser.set_defaults(handler=create_firm_command)

    token_parser = commands.add_parser("token", help="print a bearer token for a user")
    token_parser.add_argument("email", help="the user's e-mail")
    token_parser.add_argument("--firm", metavar="FIRM_ID", help=any_firm)
    token_parser.set_defaults(handler=token_command)

    password_parser = commands.add_parser(
        "set-password",
        help="set a user's password: typed twice on a terminal, else the first line of stdin",
    )
    password_parser.add_argument("email", help="the user's e-mail")
    password_parser.add_argument("--firm", metavar="FIRM_ID", help=any_firm)
    password_parser.set_defaults(handler=set_password_command)

    key_parser = commands.add_parser(
        "create-api-key",
        help="print a new partner API key holding the given permissions (shown once)",
    )
    key_parser.add_argument("email", help="the creating user: an owner or admin of the firm")
    key_parser.add_argument("--name", required=True, help="what the key is for (required)")
    key_parser.add_argument(
        "--permission",
        action="append",
        required=True,
        metavar="PERMISSION",
        help=(
            "a right the key holds (required; repeat, or separate with commas); the creator"
            f" must hold it. One of: {', '.join(Permission)}"
        ),
    )
    key_parser.add_argument(
        "--expires-at",
        metavar="ISO",
        help="ISO 8601 with a time zone, e.g. 2027-01-31T00:00:00Z (default: never)",
    )
    key_parser.add_argument("--firm", metavar="FIRM_ID", help=any_firm)
    key_parser.set_defaults(handler=create_api_key_command)

    register_parser = commands.add_parser(
        "register-documents",
        help="register GraphQL documents for persisted queries (the registered-only mode)",
    )
    register_parser.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="a .graphql file (one document, its exact text) or an Apollo manifest (.json)",
    )
    register_parser.add_argument(
        "--dir",
        type=Path,
        help="where registered documents are kept (default: CLIENTGRAPH_PERSISTED_QUERIES_DIR)",
    )
    register_parser.set_defaults(handler=register_documents_command)

    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(
        handler=export_schema
    )

    sink_parser = commands.add_parser(
        "mail-sink",
        help="for development: an SMTP server that prints each e-mail it receives, decoded",
    )
    sink_parser.add_argument(
        "--host", default=mail_sink.DEFAULT_HOST, help="address to listen on (default: %(default)s)"
    )
    sink_parser.add_argument(
        "--port",
        type=int,
        default=mail_sink.DEFAULT_PORT,
        help="port to listen on, 0 for any free one (default: %(default)s)",
    )
    sink_parser.set_defaults(handler=mail_sink_command)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.handler(args)
