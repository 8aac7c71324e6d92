"""How the server and the worker write their logs: one line per record, naming the request
it was written in (`clientgraph.web.request_id`), "-" outside requests."""

from __future__ import annotations

import copy
import logging
from typing import Any

from clientgraph.web.request_id import RequestIdFilter, log_request_ids

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def server_log_config() -> dict[str, Any]:
    """uvicorn's own logging, plus the service's loggers (and any library's warnings) in
    LOG_FORMAT; for `uvicorn.run(log_config=...)`, which applies it in every worker."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": RequestIdFilter}}
    config["formatters"]["clientgraph"] = {"format": LOG_FORMAT}
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
    config["root"] = {"handlers": ["clientgraph"], "level": "WARNING"}
    return config


def configure_worker_logging() -> None:
    log_request_ids()
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdFilter())
