"""Persisted documents: Apollo's Automatic Persisted Queries protocol, and a registered-only
mode for production.

A client sends `extensions.persistedQuery {version: 1, sha256Hash}` instead of the document.
The server answers a hash it does not know with the GraphQL error `PersistedQueryNotFound`
(`PERSISTED_QUERY_NOT_FOUND`, HTTP 200, as Apollo clients expect); the client then sends the
document with its hash, which is checked (sha256 of the document's UTF-8 text), kept, and run.

Modes (`CLIENTGRAPH_PERSISTED_QUERIES`):
- `automatic` (default): as above; documents registered by the operator are known from the
  start.
- `registered`: only documents the operator registered run, sent whole or by hash; any other
  document is refused (`PERSISTED_QUERY_NOT_ALLOWED`) and nothing a client sends is kept.
- `off`: a persisted query is refused (`PERSISTED_QUERY_NOT_SUPPORTED`); documents run as sent.

Registered documents live in a directory (`CLIENTGRAPH_PERSISTED_QUERIES_DIR`): Apollo's
persisted query manifests (`*.json`) and `<sha256>.graphql` files, which `clientgraph
register-documents` writes. Documents clients send are kept in this process's memory (an LRU
bounded in count and bytes) and, when Redis is configured (`REDIS_URL`, as for the rate
limits), in Redis too, so every worker knows them.

Nothing here bypasses a limit: the resolved document is handed on as if the client had sent
it, and is parsed, validated, counted and run like any other.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import redis.exceptions
from clientgraph import shared_redis
from clientgraph.caches import BoundedLru
from clientgraph.settings import Settings
from clientgraph.web.errors import HttpError
from starlette.requests import Request

logger = logging.getLogger("clientgraph.persisted")

HASH = re.compile(r"^[0-9a-f]{64}$")
MANIFEST_FORMAT = "apollo-persisted-query-manifest"


class PersistedQueryError(HttpError):
    """An answer instead of execution, with a code of its own in `extensions.code`."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(status, message, extensions={"code": code})
        self.code = code


def not_found() -> PersistedQueryError:
    return PersistedQueryError(200, "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


class InvalidRegistration(Exception):
    """A registered document or manifest the server refuses to start with."""


def manifest_documents(path: Path) -> dict[str, str]:
    """hash → document of one manifest: Apollo's format (`operations: [{id, body}]`), or a
    plain JSON object of hash → document."""
    try:
        manifest = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise InvalidRegistration(f"{path}: not JSON ({error})") from None
    if isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT:
        operations = manifest.get("operations")
        if not isinstance(operations, list):
            raise InvalidRegistration(f"{path}: `operations` must be a list")
        pairs: Iterable[tuple[Any, Any]] = (
            (operation.get("id"), operation.get("body"))
            for operation in operations
            if isinstance(operation, dict)
        )
    elif isinstance(manifest, dict):
        pairs = manifest.items()
    else:
        raise InvalidRegistration(f"{path}: neither a manifest nor an object of hash → document")
    documents = {}
    for key, document in pairs:
        if not isinstance(key, str) or not isinstance(document, str):
            raise InvalidRegistration(f"{path}: every entry needs a hash and a document")
        if document_hash(document) != key:
            raise InvalidRegistration(f"{path}: {key} is not the sha256 of its document")
        documents[key] = document
    return documents


def registered_documents(directory: Path | None) -> dict[str, str]:
    """Every document registered in `directory` (manifests and `<hash>.graphql` files)."""
    if directory is None or not directory.is_dir():
        return {}
    documents: dict[str, str] = {}
    for path in sorted(directory.glob("*.json")):
        documents.update(manifest_documents(path))
    for path in sorted(directory.glob("*.graphql")):
        document = path.read_text()
        if document_hash(document) != path.stem:
            raise InvalidRegistration(f"{path}: the file name is not the sha256 of its document")
        documents[path.stem] = document
    return documents


def register(directory: Path, documents: Iterable[str]) -> list[str]:
    """Write each document as `<sha256>.graphql` in `directory`; their hashes, in order."""
    directory.mkdir(parents=True, exist_ok=True)
    hashes = []
    for document in documents:
        key = document_hash(document)
        target = directory / f"{key}.graphql"
        if not target.exists():
            partial = target.with_suffix(".partial")
            partial.write_text(document)
            partial.replace(target)
        hashes.append(key)
    return hashes


class SharedDocuments:
    """Documents in Redis, shared by every worker; a Redis that does not answer is logged and
    skipped (the document is then known to this process only)."""

    def __init__(self, url: str, prefix: str, ttl_s: int) -> None:
        self.client = shared_redis.client(url)
        self.prefix = f"{prefix}:apq:"
        self.ttl_s = ttl_s

    async def get(self, key: str) -> str | None:
        try:
            found = await self.client.get(self.prefix + key)
        except (redis.exceptions.RedisError, OSError) as error:
            logger.error("persisted documents: Redis unreachable, reading locally: %s", error)
            return None
        return found.decode() if found is not None else None

    async def put(self, key: str, document: str) -> None:
        try:
            await self.client.set(self.prefix + key, document, ex=self.ttl_s)
        except (redis.exceptions.RedisError, OSError) as error:
            logger.error("persisted documents: Redis unreachable, kept locally: %s", error)


class PersistedDocuments:
    def __init__(self, settings: Settings) -> None:
        self.mode = settings.persisted_queries
        self.directory = settings.persisted_queries_dir
        self.registered = registered_documents(self.directory)
        self.max_document_bytes = settings.persisted_queries_max_document_bytes
        if self.mode == "registered" and not self.registered:
            logger.warning("registered-only persisted queries, but no document is registered")
        self.local: BoundedLru[str, str] = BoundedLru(
            settings.persisted_queries_max_count, settings.persisted_queries_max_bytes
        )
        self.shared = (
            SharedDocuments(
                settings.redis_url, settings.redis_key_prefix, settings.persisted_queries_ttl_s
            )
            if settings.redis_url and self.mode == "automatic"
            else None
        )

    async def resolve(self, request: Request, body: bytes) -> tuple[Request, bytes]:
        """The request to run, with the document a persisted query names written into it (the
        JSON body of a POST, the query string of a GET), so that every reader sees it.

        Raises PersistedQueryError for a hash not known, a document not matching its hash, or
        (registered-only) a document not registered."""
        payload = self._payload(request, body)
        if payload is None:
            return request, body
        persisted = _persisted_query(payload.get("extensions"))
        query = payload.get("query")
        if persisted is None:
            if self.mode == "registered" and isinstance(query, str):
                self._require_registered(query)
            return request, body
        if self.mode == "off":
            raise PersistedQueryError(
                400, "Persisted queries are not supported.", "PERSISTED_QUERY_NOT_SUPPORTED"
            )
        key = _valid_hash(persisted)
        if isinstance(query, str) and query:
            if document_hash(query) != key:
                raise PersistedQueryError(
                    400,
                    "The sha256Hash is not the SHA-256 of the query.",
                    "PERSISTED_QUERY_HASH_MISMATCH",
                )
            if self.mode == "registered":
                self._require_registered(query)
            else:
                await self._keep(key, query)
            return request, body
        document = await self._find(key)
        if document is None:
            raise not_found()
        return _with_query(request, body, payload, document)

    def _payload(self, request: Request, body: bytes) -> dict[str, Any] | None:
        if request.method == "GET":
            params = request.query_params
            if "extensions" not in params and self.mode != "registered":
                return None
            payload: dict[str, Any] = {"query": params.get("query")}
            if params.get("extensions"):
                payload["extensions"] = _json(params["extensions"])
            return payload
        if self.mode != "registered" and b"persistedQuery" not in body:
            return None
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        return payload if isinstance(payload, dict) else None

    def _require_registered(self, query: str) -> None:
        if self._registered(document_hash(query)) is None:
            raise PersistedQueryError(
                400,
                "Only registered documents may run on this server.",
                "PERSISTED_QUERY_NOT_ALLOWED",
            )

    def _registered(self, key: str) -> str | None:
        """A registered document; one registered after start-up is read from its file."""
        document = self.registered.get(key)
        if document is None and self.directory is not None:
            path = self.directory / f"{key}.graphql"
            if path.is_file():
                text = path.read_text()
                if document_hash(text) == key:
                    self.registered[key] = document = text
        return document

    async def _find(self, key: str) -> str | None:
        document = self._registered(key)
        if document is not None or self.mode == "registered":
            return document
        document = self.local.get(key)
        if document is None and self.shared is not None:
            document = await self.shared.get(key)
            if document is not None and document_hash(document) == key:
                self.local.put(key, document, len(document.encode()))
            else:
                document = None
        return document

    async def _keep(self, key: str, document: str) -> None:
        """Keep what a client sent, unless it is known already or too large to keep: every
        kept byte is also a byte of Redis that any authenticated caller can fill."""
        if len(document.encode()) > self.max_document_bytes:
            return
        if self._registered(key) is not None or self.local.get(key) is not None:
            return
        self.local.put(key, document, len(document.encode()))
        if self.shared is not None:
            await self.shared.put(key, document)


def _json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise HttpError(400, f"The extensions parameter is not JSON: {error}") from None


def _persisted_query(extensions: Any) -> Mapping[str, Any] | None:
    if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict):
        raise PersistedQueryError(
            400, "extensions.persistedQuery must be an object.", "BAD_REQUEST"
        )
    return persisted


def _valid_hash(persisted: Mapping[str, Any]) -> str:
    if persisted.get("version") != 1:
        raise PersistedQueryError(
            400, "Unsupported persisted query version; 1 is supported.", "BAD_REQUEST"
        )
    key = persisted.get("sha256Hash")
    if not isinstance(key, str) or not HASH.match(key):
        raise PersistedQueryError(
            400, "sha256Hash must be 64 lowercase hexadecimal digits.", "BAD_REQUEST"
        )
    return key


def _with_query(
    request: Request, body: bytes, payload: dict[str, Any], document: str
) -> tuple[Request, bytes]:
    if request.method == "GET":
        params = [(name, value) for name, value in request.query_params.multi_items()]
        params = [(name, value) for name, value in params if name != "query"]
        params.append(("query", document))
        scope = {**request.scope, "query_string": urlencode(params).encode()}
        return Request(scope, request.receive), body
    return request, orjson.dumps({**payload, "query": document})
