"""System checks of the site, registered by `MovieConfig.ready()`.

The real stack: `manage.py check` (and runserver, migrate) name a missing setting
as an error; `manage.py check --deploy` also connects to the broker and DynamoDB.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


def check_stack_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    if settings.EVENT_BUS == "kafka":
        for name in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_TOPIC"):
            if not getattr(settings, name):
                errors.append(
                    Error(f"EVENT_BUS=kafka needs {name}", id="movie.E101", obj=name)
                )
    if settings.CLICKLOG_BACKEND == "dynamodb":
        for name in ("DYNAMODB_TABLE", "AWS_DEFAULT_REGION"):
            if not getattr(settings, name):
                errors.append(
                    Error(
                        f"CLICKLOG_BACKEND=dynamodb needs {name}",
                        id="movie.E102",
                        obj=name,
                    )
                )
    return errors


def check_stack_servers(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if check_stack_settings():
        return []  # the missing settings are reported already
    errors = []
    if settings.EVENT_BUS == "kafka":
        from movie.eventbus.kafka import KafkaConfig, kafka_module

        config = KafkaConfig.from_settings()
        kafka = kafka_module()
        try:
            kafka.KafkaAdminClient(
                bootstrap_servers=config.bootstrap_servers, request_timeout_ms=3000
            ).close()
        except kafka.errors.KafkaError as exc:
            errors.append(
                Error(
                    f"Kafka broker unreachable at KAFKA_BOOTSTRAP_SERVERS="
                    f"{settings.KAFKA_BOOTSTRAP_SERVERS}: {exc!r}",
                    id="movie.E103",
                )
            )
    if settings.CLICKLOG_BACKEND == "dynamodb":
        from movie.clicklog.dynamodb import DynamoDBConfig, dynamodb_client

        config = DynamoDBConfig.from_settings()
        try:
            dynamodb_client(config).describe_table(TableName=config.table)
        except Exception as exc:
            errors.append(
                Error(
                    f"DynamoDB table DYNAMODB_TABLE={config.table} unusable at "
                    f"{config.endpoint_url or config.region}: {exc}",
                    hint="start the server, then run manage.py dynamodb_setup",
                    id="movie.E104",
                )
            )
    return errors


def register_checks() -> None:
    register(check_stack_settings)
    register(check_stack_servers, deploy=True)
