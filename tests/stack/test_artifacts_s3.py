"""The artifact store contract on S3 (moto_server), and a model version served
from it."""

from io import StringIO

import pytest
from django.core.management import call_command

from movie.artifacts.s3 import S3ArtifactStore
from movie.models import ModelVersion
from movie.recommendations.predictor import get_predictor
from tests.movie.artifact_contract import ArtifactContract


class TestS3ArtifactStore(ArtifactContract):
    @pytest.fixture
    def store(self, s3_config):
        return S3ArtifactStore(s3_config)


def test_a_version_trained_on_the_stack_is_fetched_from_s3(
    parity_ratings, settings, s3_config, tmp_path
):
    settings.ARTIFACT_STORE = "s3"
    settings.ARTIFACT_S3_BUCKET = s3_config.bucket
    settings.S3_ENDPOINT_URL = s3_config.endpoint_url
    settings.AWS_DEFAULT_REGION = s3_config.region
    settings.NGCF_CHECKPOINT = tmp_path / "ngcf.pt"
    call_command("train_ngcf", epochs=5, promote=True, stdout=StringIO())
    version = ModelVersion.objects.get(status="champion")
    assert version.artifact_uri == (
        f"s3://{s3_config.bucket}/ngcf/{version.version}.pt"
    )
    (tmp_path / "ngcf.pt").unlink()  # served from S3, not from the local file
    state = get_predictor()
    assert state.version == version.version and state.predictor is not None
