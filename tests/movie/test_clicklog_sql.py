import pytest

from movie.clicklog.sql import SqlClickLogStore
from tests.movie.clicklog_contract import ClickLogContract


class TestSqlClickLog(ClickLogContract):
    @pytest.fixture
    def store(self, db):
        return SqlClickLogStore()
