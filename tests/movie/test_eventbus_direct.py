import pytest

from movie.clicklog.sql import SqlClickLogStore
from movie.eventbus.direct import DirectEventBus
from tests.movie.eventbus_contract import EventBusContract


class TestDirectEventBus(EventBusContract):
    @pytest.fixture
    def store(self, db):
        return SqlClickLogStore()

    @pytest.fixture
    def bus(self, store, settings):
        settings.CLICKLOG_BACKEND = "sql"
        return DirectEventBus()

    @pytest.fixture
    def deliver(self):
        return lambda: None
