"""What every page the service hosts shares: its static files, served by the service itself and
linked with a digest of their bytes, and the headers of the page itself."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
"""A page is never cached (it may carry a one-time token in its address, which no Referer
passes on) and never framed."""


SHARED_DIR = Path(__file__).parent / "static" / "shared"
SHARED_SCRIPTS = ("requests.js",)
"""What every page's scripts share (static/shared/), served under each page's own mount."""


@functools.cache
def digest(path: Path) -> str:
    """A file's digest, read once per process: the service's own static files change only
    with a new release (and each app of a process, or of the test suite, links the same)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


class FingerprintedAssets(StaticFiles):
    """The files of `directory` and of static/shared/, mounted at `mount_path`. A page links
    each as `url(name)`, which carries a digest of the file's bytes: such a URL is cached for
    a year, since it changes whenever the file does; any other is revalidated."""

    def __init__(self, directory: Path, mount_path: str) -> None:
        super().__init__(directory=directory)
        self.roots = (directory.resolve(), SHARED_DIR.resolve())
        self.all_directories = list(self.roots)
        self.mount_path = mount_path
        self.fingerprints: dict[str, str] = {}

    def fingerprint(self, name: str) -> str:
        if name not in self.fingerprints:
            path = next(root / name for root in self.roots if (root / name).is_file())
            self.fingerprints[name] = digest(path)
        return self.fingerprints[name]

    def url(self, name: str) -> str:
        return f"{self.mount_path}/{name}?v={self.fingerprint(name)}"

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        path = Path(full_path).resolve()
        root = next(root for root in self.roots if path.is_relative_to(root))
        name = path.relative_to(root).as_posix()
        current = f"v={self.fingerprint(name)}".encode()
        fingerprinted = scope.get("query_string", b"") == current
        response.headers["Cache-Control"] = IMMUTABLE if fingerprinted else "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
