"""How the server and the worker write their logs: one line per record, naming the request
it was written in (`clientgraph.web.request_id`), "-" outside requests.

`CLIENTGRAPH_LOG_FORMAT=text` (the default) writes `LOG_FORMAT`; `json` writes every line, of
the service, of uvicorn and of any library, as one JSON object (python-json-logger) with
`timestamp`, `level`, `logger`, `request_id`, `message` and the record's extra fields, and
turns on the line per request on `REQUEST_LOGGER` (web/request_log.py)."""

from __future__ import annotations

import copy
import logging
from typing import Any, Literal

from clientgraph.metrics import WatchedPool
from clientgraph.web.request_id import RequestIdFilter, log_request_ids

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(request_id)s %(message)s"
JSON_RENAMED = {"levelname": "level", "name": "logger"}
REQUEST_LOGGER = "clientgraph.requests"
POOL_LOGGER = f"{WatchedPool.__module__}.{WatchedPool.__qualname__}"
"""SQLAlchemy names a pool's logger after its class, which puts ours under `clientgraph`: its
INFO notes on each connection it drops (a backend killed, a statement cut off) are the
library's chatter, as they were under `sqlalchemy.pool`, and are kept to warnings."""

LogFormat = Literal["text", "json"]


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMED, timestamp=True)


def _formatter(log_format: LogFormat) -> dict[str, Any]:
    if log_format == "json":
        return {"()": json_formatter}
    return {"format": LOG_FORMAT}


def server_log_config(log_format: LogFormat = "text") -> dict[str, Any]:
    """uvicorn's own logging, plus the service's loggers (and any library's warnings) in
    LOG_FORMAT, or all of them as JSON; for `uvicorn.run(log_config=...)`, which applies it
    in every worker."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": RequestIdFilter}}
    config["formatters"]["clientgraph"] = _formatter(log_format)
    config["handlers"]["clientgraph"] = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "clientgraph",
        "filters": ["request_id"],
    }
    config["loggers"]["clientgraph"] = {
        "handlers": ["clientgraph"],
        "level": "INFO",
        "propagate": False,
    }
    config["loggers"][REQUEST_LOGGER] = {"level": "INFO" if log_format == "json" else "WARNING"}
    config["loggers"][POOL_LOGGER] = {"level": "WARNING"}
    if log_format == "json":
        for handler in ("default", "access"):
            config["handlers"][handler]["formatter"] = "clientgraph"
            config["handlers"][handler]["filters"] = ["request_id"]
    config["root"] = {"handlers": ["clientgraph"], "level": "WARNING"}
    return config


def configure_worker_logging(log_format: LogFormat = "text") -> None:
    log_request_ids()
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger(POOL_LOGGER).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdFilter())
        if log_format == "json":
            handler.setFormatter(json_formatter())
