"""ClickLog store port; the CLICKLOG_BACKEND setting picks the adapter."""

from movie.adapters import adapter
from movie.clicklog.base import ClickLogStore

BACKENDS = {
    "sql": "movie.clicklog.sql.SqlClickLogStore",
    "dynamodb": "movie.clicklog.dynamodb.DynamoDBClickLogStore",
}


def get_clicklog_store() -> ClickLogStore:
    return adapter("CLICKLOG_BACKEND", BACKENDS)


__all__ = ["ClickLogStore", "get_clicklog_store"]
