"""The artifact store port: immutable, versioned model files checked by sha256."""

from __future__ import annotations

import abc
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20


class ArtifactError(Exception):
    """An artifact that cannot be written, fetched or verified; the message says why."""


@dataclass(frozen=True)
class StoredArtifact:
    uri: str  # where the store keeps it (a path or s3://bucket/key)
    sha256: str
    size: int


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactStore(abc.ABC):
    """Keeps one file per name; a name once written is never overwritten."""

    @abc.abstractmethod
    def put(self, name: str, source: Path) -> StoredArtifact:
        """Store `source` under `name`; ArtifactError if the name is taken."""

    @abc.abstractmethod
    def _download(self, uri: str, dest: Path) -> None:
        """Copy the artifact at `uri` to the file `dest`."""

    def fetch(self, uri: str, sha256: str, cache_dir: Path) -> Path:
        """A local copy of the artifact, verified against `sha256`.

        The copy is cached in `cache_dir` under its digest; a cached copy is
        checked again before use. ArtifactError when it cannot be read or its
        digest differs (nothing is left behind).
        """
        cache_dir.mkdir(parents=True, exist_ok=True)
        path = cache_dir / f"{sha256}.pt"
        if path.is_file() and file_sha256(path) == sha256:
            return path
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".part")
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            self._download(uri, tmp_path)
            actual = file_sha256(tmp_path)
            if actual != sha256:
                raise ArtifactError(
                    f"artifact {uri} has sha256 {actual}, expected {sha256}"
                )
            os.replace(tmp_path, path)
        except OSError as exc:
            raise ArtifactError(f"cannot fetch artifact {uri}: {exc}") from exc
        finally:
            tmp_path.unlink(missing_ok=True)
        return path
