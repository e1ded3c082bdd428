"""The site's system checks are registered at start-up and name what is missing."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


def test_embedded_defaults_pass_the_checks():
    call_command("check")


def test_kafka_bus_without_brokers_is_an_error(settings):
    settings.EVENT_BUS = "kafka"
    settings.KAFKA_BOOTSTRAP_SERVERS = ""
    with pytest.raises(SystemCheckError, match=r"movie\.E101.*KAFKA_BOOTSTRAP_SERVERS"):
        call_command("check")


def test_dynamodb_store_without_table_or_region_is_an_error(settings):
    settings.CLICKLOG_BACKEND = "dynamodb"
    settings.DYNAMODB_TABLE = ""
    settings.AWS_DEFAULT_REGION = ""
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    assert "DYNAMODB_TABLE" in str(raised.value)
    assert "AWS_DEFAULT_REGION" in str(raised.value)
    assert "movie.E102" in str(raised.value)
