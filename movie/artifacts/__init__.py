"""Artifact store port; the ARTIFACT_STORE setting picks the adapter."""

from movie.adapters import adapter
from movie.artifacts.base import ArtifactError, ArtifactStore, StoredArtifact

STORES = {
    "local": "movie.artifacts.local.LocalArtifactStore",
    "s3": "movie.artifacts.s3.S3ArtifactStore",
}


def get_artifact_store() -> ArtifactStore:
    return adapter("ARTIFACT_STORE", STORES)


__all__ = ["ArtifactError", "ArtifactStore", "StoredArtifact", "get_artifact_store"]
