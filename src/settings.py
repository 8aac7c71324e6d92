"""The one Settings object, read from the environment (and a `.env` file) once."""

from __future__ import annotations

import ipaddress
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from clientgraph.caches import DOCUMENT_CACHE_BYTES, PLAN_CACHE_BYTES
from clientgraph.db.tenancy import Timeouts
from clientgraph.list_limits import ListLimits
from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/clientgraph.db"
ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?")
"""A browser origin as the Origin header serializes it; `null` (sandboxed pages, files) is
never one we allow."""

LIST_DEFAULTS = ListLimits()
"""The defaults of the `CLIENTGRAPH_MAX_…` list settings."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CLIENTGRAPH_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "CLIENTGRAPH_DATABASE_URL"),
    )
    app_database_url: str | None = None
    app_role: str = Field(default="clientgraph_app", min_length=1, max_length=63)
    app_role_password: str | None = None
    secret: str | None = None
    token_ttl_seconds: int = Field(default=12 * 3600, gt=0)
    db_pool_size: int = Field(default=20, gt=0)
    db_pool_overflow: int = Field(default=0, ge=0)
    """Connections opened beyond `db_pool_size` for a burst, closed again as each comes back
    while the pool is full. None by default: a steady load between the two sizes would open
    and close one per request or so, each a new PostgreSQL backend that prepares every
    statement again (measured under 16 clients with 10 + 10: some 15 new connections a
    second)."""
    db_statement_timeout_s: float = Field(default=5.0, ge=0)
    db_lock_timeout_s: float = Field(default=5.0, ge=0)
    db_idle_in_transaction_timeout_s: float = Field(default=30.0, ge=0)
    db_connect_timeout_s: float = Field(default=5.0, gt=0)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    pgbouncer: bool = False
    """`CLIENTGRAPH_PGBOUNCER=1`: the server's database URL is a pooler in transaction mode
    (PgBouncer): no named prepared statements (clientgraph.db.engine.pooler_connect_args)."""
    listen_database_url: str | None = None
    """A direct URL (not through a transaction pooler) on which subscriptions and the caller
    cache LISTEN; by default the server's database URL."""
    replica_url: str | None = None
    """`CLIENTGRAPH_REPLICA_URL`: a streaming replica of the database (PostgreSQL's hot
    standby) that serves the reads of queries (db/replica.py); its user and password are the
    server's (`server_replica_url`). Unset, every read goes to the primary."""
    replica_max_lag_s: float = Field(default=5.0, gt=0)
    """`CLIENTGRAPH_REPLICA_MAX_LAG_S`: a replica further behind than this serves no read."""
    replica_check_interval_s: float = Field(default=0.5, gt=0)
    """`CLIENTGRAPH_REPLICA_CHECK_INTERVAL_S`: how often each server process measures the
    replica's lag; a caller who wrote reads from the primary for about one or two of these."""

    @field_validator("replica_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _replica_needs_postgresql(self) -> Settings:
        if self.replica_url is None:
            return self
        if make_url(self.database_url).get_backend_name() != "postgresql":
            raise ValueError("CLIENTGRAPH_REPLICA_URL needs a PostgreSQL DATABASE_URL")
        if make_url(self.replica_url).get_backend_name() != "postgresql":
            raise ValueError("CLIENTGRAPH_REPLICA_URL must be a PostgreSQL URL")
        if self.replica_check_interval_s >= self.replica_max_lag_s:
            raise ValueError(
                "CLIENTGRAPH_REPLICA_CHECK_INTERVAL_S must be shorter than"
                " CLIENTGRAPH_REPLICA_MAX_LAG_S: the lag is measured no finer than the interval"
            )
        return self

    def server_replica_url(self) -> str | None:
        """Where the server's reads of the replica connect: `CLIENTGRAPH_REPLICA_URL`'s host,
        port and database (the primary's database if it names none), as the user and password
        the server connects to the primary with (`server_database_url`), so that row-level
        security binds the replica's reads as it binds the primary's, and through the same
        driver."""
        if self.replica_url is None:
            return None
        server = make_url(self.server_database_url())
        replica = make_url(self.replica_url)
        return replica.set(
            drivername=server.drivername,
            username=server.username,
            password=server.password,
            database=replica.database or server.database,
        ).render_as_string(hide_password=False)

    caller_cache_s: float = Field(default=60.0, ge=0)
    """`CLIENTGRAPH_CALLER_CACHE_S`: how long a server process may keep the user of a token or
    the caller of an API key without reading it again (auth/caller_cache.py; changes reach it
    at once on PostgreSQL); 0: never."""

    max_query_depth: int = Field(default=12, gt=0)
    max_aliases: int = Field(default=100, gt=0)
    max_tokens: int = Field(default=5000, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    max_page_size: int = Field(default=100, gt=0)
    default_page_size: int = Field(default=50, gt=0)
    tracemalloc: int = Field(default=0, ge=0)
    """Frames per traced allocation; above 0, SIGUSR1 logs what grew (clientgraph.diagnostics)."""
    max_tags_per_account: int = Field(default=LIST_DEFAULTS.tags_per_account, gt=0)
    max_select_options: int = Field(default=LIST_DEFAULTS.select_options, gt=0)
    max_input_list: int = Field(default=LIST_DEFAULTS.input_list, gt=0)
    max_search_length: int = Field(default=LIST_DEFAULTS.search_length, gt=0)
    max_nodes: int = Field(default=50_000, gt=0)
    request_timeout_s: float = Field(default=10.0, gt=0)
    planned_reads: bool = True
    """Queries run through `clientgraph.plan` (one SQL statement) where it covers them."""
    planner_strict: bool = False
    """A planner crash fails the request (INTERNAL_SERVER_ERROR) instead of falling back to the
    generic path: for tests, where a planner defect must fail loudly."""
    document_cache_bytes: int = Field(default=DOCUMENT_CACHE_BYTES, gt=0)
    """Per worker, each cache of documents (parsed, validated, prepared for a plan) at most."""
    plan_cache_bytes: int = Field(default=PLAN_CACHE_BYTES, gt=0)
    """Per worker, the planned path's plans, and their compiled SQL, at most (each)."""

    max_related_accounts: int = Field(default=LIST_DEFAULTS.related_accounts, gt=0)
    max_team_members: int = Field(default=LIST_DEFAULTS.team_members, gt=0)
    max_account_contacts: int = Field(default=LIST_DEFAULTS.account_contacts, gt=0)
    max_contact_emails: int = Field(default=LIST_DEFAULTS.contact_emails, gt=0)
    max_custom_fields: int = Field(default=LIST_DEFAULTS.custom_fields, gt=0)
    max_api_keys: int = Field(default=LIST_DEFAULTS.api_keys, gt=0)
    max_import_rows: int = Field(default=LIST_DEFAULTS.import_rows, gt=0)
    max_import_bytes: int = Field(default=LIST_DEFAULTS.import_bytes, gt=0)
    import_timeout_s: float = Field(default=300.0, gt=0)
    """How long POST /import/accounts.csv may run, reading the upload included; past it the
    import is rolled back and answered 503 TIMEOUT (checked between its batches, a statement
    that runs on cancelled 5 s later)."""

    def list_limits(self) -> ListLimits:
        return ListLimits(
            related_accounts=self.max_related_accounts,
            team_members=self.max_team_members,
            account_contacts=self.max_account_contacts,
            contact_emails=self.max_contact_emails,
            tags_per_account=self.max_tags_per_account,
            custom_fields=self.max_custom_fields,
            select_options=self.max_select_options,
            input_list=self.max_input_list,
            search_length=self.max_search_length,
            api_keys=self.max_api_keys,
            import_rows=self.max_import_rows,
            import_bytes=self.max_import_bytes,
        )

    outbox_relay: bool = True
    outbox_poll_interval_s: float = Field(default=1.0, gt=0)
    outbox_batch_size: int = Field(default=10, gt=0, le=1000)
    outbox_max_attempts: int = Field(default=10, gt=0)
    outbox_backoff_s: float = Field(default=30.0, ge=0)
    outbox_backoff_max_s: float = Field(default=3600.0, ge=0)
    smtp_url: str | None = None
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    mail_from: str = "clientgraph <clientgraph@localhost>"
    webhooks_allow_private: bool = False
    """`CLIENTGRAPH_WEBHOOKS_ALLOW_PRIVATE=1`: webhooks may post to loopback, link-local and
    private addresses (a receiver on the same machine or network); refused otherwise."""
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    """How long one webhook delivery may take, resolving the host to the answer's status."""
    webhook_concurrency: int = Field(default=8, gt=0, le=100)
    """Firms whose webhook deliveries one relay sends at once."""
    webhook_concurrency_per_firm: int = Field(default=2, gt=0, le=100)
    """Deliveries of one firm one relay sends at once."""
    webhook_secret_grace_s: int = Field(default=24 * 3600, ge=0)
    """How long the previous secret still signs after `rotateWebhookSecret`."""
    idempotency_max_keys_per_caller: int = Field(default=10_000, gt=0)
    """`Idempotency-Key`s one caller may hold within their 24 hours; one more is 429."""
    live_max_subscriptions_per_user: int = Field(default=200, gt=0)
    """Live subscriptions one user may hold on one server process, over all connections."""
    live_max_subscriptions_per_process: int = Field(default=5000, gt=0)
    """Live subscriptions one server process runs at most."""
    ws_max_message_bytes: int = Field(default=65536, ge=1024)
    """The largest websocket message `clientgraph serve` reads (uvicorn's `ws_max_size`); a
    larger one closes the socket (1009) before it is buffered, signed in or not."""
    ws_connection_init_timeout_s: float = Field(default=10.0, gt=0)
    """How long a websocket may stay open without `connection_init` before it is closed
    (4408)."""

    portal_url: str | None = None
    """`CLIENTGRAPH_PORTAL_URL`: the firm's own portal; invitations open `/accept?token=…`
    there. Unset, the portal this service hosts, at the address it listens on."""
    portal_token_ttl_seconds: int = Field(default=3600, gt=0)
    """How long a portal token (`POST /portal/login`) is good for."""
    app_url: str | None = None
    """`CLIENTGRAPH_APP_URL`: the firm's own staff app; set-password links open
    `/set-password?token=…` there. Unset, the page this service hosts, at the address it
    listens on."""

    @field_validator("app_url", "portal_url", mode="before")
    @classmethod
    def _page_url(cls, value: object, info: ValidationInfo) -> object:
        """A page links are built on: an absolute http(s) URL; empty means unset."""
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        parts = urlsplit(value.strip())
        extra = parts.query or parts.fragment
        if parts.scheme not in ("http", "https") or not parts.hostname or extra:
            raise ValueError(
                f"CLIENTGRAPH_{(info.field_name or '').upper()}: {value!r} is not an address such"
                " as https://app.example.com or https://example.com/portal (http or https, a"
                " host, a path at most)"
            )
        return value.strip()

    access_token_ttl_s: int = Field(default=15 * 60, gt=0)
    """Lifetime of the access token `/auth/login` and `/auth/refresh` hand out."""
    refresh_token_ttl_s: int = Field(default=14 * 24 * 3600, gt=0)
    """Lifetime of each refresh token; every refresh hands out a new one."""
    sign_in_session_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)
    """How long a sign-in lasts through refreshes before the password is asked again."""
    sign_in_attempts: int = Field(default=5, gt=0)
    sign_in_window_s: int = Field(default=15 * 60, gt=0)
    """Failed sign-ins allowed per e-mail and client address within the window."""
    sign_in_email_attempts: int = Field(default=20, gt=0)
    sign_in_email_window_s: int = Field(default=3600, gt=0)
    """Failed sign-ins allowed per e-mail from every address together within the window;
    past it, addresses where the e-mail has not signed in lately are refused."""
    sign_in_known_address_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)
    """How long an address where an e-mail signed in stays exempt from the per-e-mail limit."""

    def server_database_url(self) -> str:
        """Where the server's requests connect: `CLIENTGRAPH_APP_DATABASE_URL`, else on
        PostgreSQL `DATABASE_URL` as the app role (`CLIENTGRAPH_APP_ROLE`, password
        `CLIENTGRAPH_APP_ROLE_PASSWORD`), which row-level security binds to one firm per
        transaction. `DATABASE_URL` itself is the tables' owner, for migrations and the CLI."""
        if self.app_database_url:
            return self.app_database_url
        url = make_url(self.database_url)
        if url.get_backend_name() != "postgresql":
            return self.database_url
        return url.set(username=self.app_role, password=self.app_role_password).render_as_string(
            hide_password=False
        )

    def caller_cache_ttl_s(self) -> float:
        """`caller_cache_s`, but 0 behind a transaction pooler without a direct listen URL: a
        LISTEN through the pooler hears nothing, and a cache that hears nothing would keep
        callers as they were."""
        if self.pgbouncer and self.listen_database_url is None:
            return 0.0
        return self.caller_cache_s

    def database_timeouts(self) -> Timeouts:
        return Timeouts(
            statement_s=self.db_statement_timeout_s,
            lock_s=self.db_lock_timeout_s,
            idle_in_transaction_s=self.db_idle_in_transaction_timeout_s,
        )

    dev: bool = False
    introspection: bool = True

    persisted_queries: Literal["automatic", "registered", "off"] = "automatic"
    """Apollo's automatic persisted queries; `registered` runs only registered documents."""
    persisted_queries_dir: Path | None = None
    """Registered documents: Apollo manifests (*.json) and <sha256>.graphql files."""
    persisted_queries_max_count: int = Field(default=10_000, gt=0)
    persisted_queries_max_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    persisted_queries_max_document_bytes: int = Field(default=64 * 1024, gt=0)
    """A larger document runs when sent whole, but is not kept (nor put in Redis)."""
    persisted_queries_ttl_s: int = Field(default=7 * 24 * 3600, gt=0)
    """How long Redis keeps a document clients sent (only with REDIS_URL)."""
    plan_ahead_shapes: int = Field(default=32, ge=0)
    """At start-up, the registered documents are planned for at most this many kinds of
    caller (role and rights), the most common first (web/plans_ahead.py); 0: none."""
    plan_ahead_cpu_s: float = Field(default=5.0, ge=0)
    """The CPU time planning ahead may spend per worker; it stops there."""

    access_log: bool = False
    """One log line per request (uvicorn's access log); `clientgraph serve --access-log`."""
    log_format: Literal["text", "json"] = "text"
    """`json`: every log line a JSON object, and one line per HTTP request on
    `clientgraph.requests` with what it did (clientgraph.logs, web/request_log.py)."""
    otel_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CLIENTGRAPH_OTEL_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    )
    """An OTLP/HTTP collector (`http://collector:4318`) to send traces to; off when unset
    (clientgraph.tracing, the `otel` extra)."""
    otel_service_name: str = Field(
        default="clientgraph",
        min_length=1,
        validation_alias=AliasChoices("CLIENTGRAPH_OTEL_SERVICE_NAME", "OTEL_SERVICE_NAME"),
    )
    gc_freeze: bool = True
    """Freeze what start-up and the first request built out of the cyclic collector's reach."""
    gc_threshold: int = Field(default=0, ge=0)
    """Allocations between young collections; 0 keeps CPython's default (700)."""
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    http_parser: Literal["httptools", "h11"] = "httptools"
    tcp_nodelay: bool = True
    reuse_port: bool = True
    """Each worker listens on a socket of its own (SO_REUSEPORT): the kernel spreads the
    connections; off, the workers share one socket (uvicorn's way)."""
    oidc_issuer: str | None = None
    """An identity provider whose bearer JWTs are accepted (its `iss`); off when unset."""
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    """Where its keys are; by default the `jwks_uri` of its discovery document
    (`ISSUER/.well-known/openid-configuration`)."""
    oidc_leeway_s: float = Field(default=30.0, ge=0, le=300)
    oidc_http_timeout_s: float = Field(default=5.0, gt=0)
    oidc_jwks_max_age_s: float = Field(default=3600.0, gt=0)
    oidc_jwks_min_refresh_interval_s: float = Field(default=60.0, ge=0)
    """At most one fetch of the keys per this many seconds when a token names an unknown key."""

    @model_validator(mode="after")
    def _oidc_needs_an_audience(self) -> Settings:
        """A provider's tokens for any of its clients must not pass: the audience is ours."""
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError("CLIENTGRAPH_OIDC_AUDIENCE must be set with CLIENTGRAPH_OIDC_ISSUER")
        return self

    oidc_client_id: str | None = None
    """The client id GraphiQL's page signs in with at the identity provider (authorization code
    with PKCE, redirect URI `…/graphql`); the page offers the provider only when it is set."""

    @model_validator(mode="after")
    def _oidc_client_needs_an_issuer(self) -> Settings:
        if self.oidc_client_id and not self.oidc_issuer:
            raise ValueError("CLIENTGRAPH_OIDC_CLIENT_ID needs CLIENTGRAPH_OIDC_ISSUER")
        return self

    cors_origins: str = ""
    """Comma-separated browser origins allowed to call the API (`https://app.example.com`)."""

    def cors_origin_list(self) -> list[str]:
        """The allowed origins as browsers send them (`scheme://host[:port]`), or `*`."""
        origins = [origin.strip().rstrip("/") for origin in self.cors_origins.split(",")]
        return [origin for origin in origins if origin]

    @model_validator(mode="after")
    def _cors_origins_are_origins(self) -> Settings:
        for origin in self.cors_origin_list():
            if origin != "*" and not ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"CLIENTGRAPH_CORS_ORIGINS: {origin!r} is not an origin such as"
                    " https://app.example.com (scheme, host and port only, lower case) or *"
                )
        return self

    forwarded_allow_ips: str = ""
    """Comma-separated addresses or networks of your reverse proxies, or `*` (every peer):
    only from these is `X-Forwarded-For` taken as the client's address (web/forwarded.py)."""

    def forwarded_allow_ip_list(self) -> list[str]:
        """The proxies as uvicorn's ProxyHeadersMiddleware takes them: `["*"]`, or addresses
        and networks written canonically (`10.0.0.1/8` as `10.0.0.0/8`, which uvicorn would
        otherwise take for a name that no peer has)."""
        if self.forwarded_allow_ips.strip() == "*":
            return ["*"]
        return _addresses(
            "CLIENTGRAPH_FORWARDED_ALLOW_IPS", self.forwarded_allow_ips, also="nor * alone"
        )

    metrics_allow_ips: str = ""
    """Comma-separated addresses or networks that may read `/metrics` (e.g. your Prometheus
    server's); by default none."""
    metrics_token: str | None = Field(default=None, min_length=16)
    """A Bearer token that may read `/metrics` from any address."""

    def metrics_allow_ip_list(self) -> list[str]:
        return _addresses("CLIENTGRAPH_METRICS_ALLOW_IPS", self.metrics_allow_ips)

    @model_validator(mode="after")
    def _allow_lists_are_addresses(self) -> Settings:
        self.forwarded_allow_ip_list()
        self.metrics_allow_ip_list()
        return self

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "CLIENTGRAPH_REDIS_URL")
    )
    redis_key_prefix: str = "clientgraph"
    rate_limit_nodes_per_minute: int = Field(default=250_000, gt=0)
    rate_limit_failed_auth_per_minute: int = Field(default=30, gt=0)

    def signing_secret(self) -> str:
        """`CLIENTGRAPH_SECRET`, or for an embedded SQLite file a key kept beside it.

        A server database without a configured secret is refused: a key generated per process
        would invalidate every token on restart and differ between workers.
        """
        if self.secret:
            return self.secret
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            raise RuntimeError("CLIENTGRAPH_SECRET must be set for this DATABASE_URL")
        key_file = Path(url.database).with_suffix(".secret")
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def _addresses(setting: str, value: str, *, also: str = "") -> list[str]:
    """The comma-separated addresses and networks of `value`, written canonically."""
    canonical = []
    for entry in (entry.strip() for entry in value.split(",")):
        if not entry:
            continue
        try:
            if "/" in entry:
                canonical.append(str(ipaddress.ip_network(entry, strict=False)))
            else:
                canonical.append(str(ipaddress.ip_address(entry)))
        except ValueError:
            raise ValueError(
                f"{setting}: {entry!r} is not an IP address or network"
                f" (such as 10.0.0.5 or 10.0.0.0/24){', ' + also if also else ''}"
            ) from None
    return canonical
