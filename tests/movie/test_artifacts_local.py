import pytest

from movie.artifacts.local import LocalArtifactStore
from tests.movie.artifact_contract import ArtifactContract


class TestLocalArtifactStore(ArtifactContract):
    @pytest.fixture
    def store(self, tmp_path):
        return LocalArtifactStore(tmp_path / "artifacts")
