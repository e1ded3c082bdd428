"""The cache backend of the kept For-you rows (`CACHES["kept_lists"]`):
diskcache's Django backend, one cache on the host's disk for every process,
with three changes for a cache that a page must never wait on.

- ``set`` never retries: diskcache's Django ``set`` retries a busy database
  without limit, so a page could wait as long as another process (the warmer,
  at the lowest CPU priority) held a shard's write lock. After
  ``DATABASE_TIMEOUT`` the write is dropped and the page goes on.
- ``close`` keeps the connections: Django closes every cache when a request
  finishes, and reopening diskcache's SQLite files (a connect and its pragmas
  per shard) would cost more than the read. diskcache reconnects in a forked
  process by itself.
- The folder is made private to the site's user (0700): its values are pickles
  that the web processes load.
"""

from __future__ import annotations

import os

from diskcache import DjangoCache
from django.core.cache.backends.base import DEFAULT_TIMEOUT


class KeptRowsCache(DjangoCache):
    def __init__(self, directory: str, params: dict) -> None:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)  # one made before, by hand or older code
        super().__init__(directory, params)

    def set(
        self,
        key,
        value,
        timeout=DEFAULT_TIMEOUT,
        version=None,
        read=False,
        tag=None,
        retry=False,
    ) -> bool:
        """diskcache's ``set``, without retrying by default; False if the
        write was dropped."""
        return super().set(key, value, timeout, version, read, tag, retry)

    def close(self, **kwargs) -> None:
        """Kept open across requests (see the module's docstring)."""
