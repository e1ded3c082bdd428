"""The contract every artifact store adapter passes."""

import pytest

from movie.artifacts import ArtifactError
from movie.artifacts.base import file_sha256


class ArtifactContract:
    """Subclasses provide a `store` fixture returning an empty store."""

    def test_put_then_fetch_verifies_sha256(self, store, tmp_path):
        source = tmp_path / "model.pt"
        source.write_bytes(b"weights" * 1000)
        stored = store.put("v1.pt", source)
        assert stored.sha256 == file_sha256(source) and stored.size == 7000
        copy = store.fetch(stored.uri, stored.sha256, tmp_path / "cache")
        assert copy.read_bytes() == source.read_bytes()
        again = store.fetch(stored.uri, stored.sha256, tmp_path / "cache")
        assert again == copy  # the verified cached copy

    def test_a_version_is_never_overwritten(self, store, tmp_path):
        source = tmp_path / "model.pt"
        source.write_bytes(b"first")
        stored = store.put("v1.pt", source)
        source.write_bytes(b"second")
        with pytest.raises(ArtifactError, match="v1.pt"):
            store.put("v1.pt", source)
        copy = store.fetch(stored.uri, stored.sha256, tmp_path / "cache")
        assert copy.read_bytes() == b"first"

    def test_a_wrong_digest_or_missing_artifact_is_refused(self, store, tmp_path):
        source = tmp_path / "model.pt"
        source.write_bytes(b"weights")
        stored = store.put("v1.pt", source)
        cache = tmp_path / "cache"
        with pytest.raises(ArtifactError, match="sha256"):
            store.fetch(stored.uri, "0" * 64, cache)
        with pytest.raises(ArtifactError):
            store.fetch(stored.uri.replace("v1.pt", "v9.pt"), stored.sha256, cache)
        assert list(cache.iterdir()) == []  # nothing half-written is left
