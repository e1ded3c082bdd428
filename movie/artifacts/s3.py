"""Artifact store in an S3 bucket (boto3), so web processes on any host can fetch
the same versions. moto's S3 serves it locally (devservers, tests/stack)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from movie.artifacts.base import (
    ArtifactError,
    ArtifactStore,
    StoredArtifact,
    file_sha256,
)


@dataclass(frozen=True)
class S3Config:
    bucket: str
    prefix: str
    endpoint_url: str | None
    region: str

    @classmethod
    def from_settings(cls) -> S3Config:
        missing = [
            name
            for name in ("ARTIFACT_S3_BUCKET", "AWS_DEFAULT_REGION")
            if not getattr(settings, name)
        ]
        if missing:
            raise ImproperlyConfigured(f"ARTIFACT_STORE=s3 needs {', '.join(missing)}")
        return cls(
            settings.ARTIFACT_S3_BUCKET,
            settings.ARTIFACT_S3_PREFIX,
            settings.S3_ENDPOINT_URL or None,
            settings.AWS_DEFAULT_REGION,
        )


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ArtifactError(f"not an s3:// artifact uri: {uri}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


class S3ArtifactStore(ArtifactStore):
    def __init__(self, config: S3Config | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.config = config or S3Config.from_settings()
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=self.config.endpoint_url,
            region_name=self.config.region,
            config=Config(retries={"mode": "standard", "max_attempts": 5}),
        )

    def put(self, name: str, source: Path) -> StoredArtifact:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.config.prefix + name
        sha256 = file_sha256(source)
        try:
            with source.open("rb") as body:
                # IfNoneMatch="*": the write fails if the key exists (immutable).
                self.client.put_object(
                    Bucket=self.config.bucket,
                    Key=key,
                    Body=body,
                    IfNoneMatch="*",
                    Metadata={"sha256": sha256},
                )
        except ClientError as exc:
            raise ArtifactError(f"cannot store artifact {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise ArtifactError(f"S3 unreachable storing {key}: {exc}") from exc
        uri = f"s3://{self.config.bucket}/{key}"
        return StoredArtifact(uri, sha256, source.stat().st_size)

    def _download(self, uri: str, dest: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = _split(uri)
        try:
            self.client.download_file(bucket, key, str(dest))
        except (ClientError, BotoCoreError) as exc:
            raise ArtifactError(f"cannot fetch artifact {uri}: {exc}") from exc
