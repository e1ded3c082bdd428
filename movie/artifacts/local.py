"""Artifact store in a local folder (the embedded default, ARTIFACT_DIR)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.conf import settings

from movie.artifacts.base import (
    ArtifactError,
    ArtifactStore,
    StoredArtifact,
    file_sha256,
)


class LocalArtifactStore(ArtifactStore):
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or settings.ARTIFACT_DIR)

    def put(self, name: str, source: Path) -> StoredArtifact:
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / name
        tmp = target.with_suffix(target.suffix + ".part")
        shutil.copyfile(source, tmp)
        try:
            # A hard link fails if the name exists: the write is immutable.
            os.link(tmp, target)
        except FileExistsError:
            raise ArtifactError(f"artifact {name} already exists") from None
        finally:
            tmp.unlink(missing_ok=True)
        os.chmod(target, 0o444)
        return StoredArtifact(str(target), file_sha256(target), target.stat().st_size)

    def _download(self, uri: str, dest: Path) -> None:
        shutil.copyfile(uri, dest)
