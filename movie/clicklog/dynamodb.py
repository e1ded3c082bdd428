"""ClickLog store in a DynamoDB table (boto3).

Table layout (created by `manage.py dynamodb_setup`):
- partition key `user_key`, sort key `sk` = "<ts ms, 16 digits>#<event_id>": a
  visitor's events sort by time; zero-padding makes string order equal time order.
- local secondary index `by_event_id` (sort key `event_id`): finds one of the
  visitor's events by id without knowing its ts, still inside their partition.

Idempotency: `add` is a PutItem conditional on `attribute_not_exists(sk)`. A replay
from the bus carries the same event_id and the same ts, hence the same key, so the
condition rejects it atomically. An event_id sent again with a different ts (a
client retrying `POST /api/events` with its own event_id gets a new ts) is caught
by a strongly consistent read of the index just before the write; only two such
writes racing each other could both pass, which a single client's retry does not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from movie.clicklog.base import ClickLogStore
from movie.events import IMPRESSION, Event
from movie.impressions import Impression

EVENT_ID_INDEX = "by_event_id"
TS_DIGITS = 16
# Impressions live in partitions of their own, "impression#<user_key>", so a
# visitor's history query never reads them. Visitor keys never contain "#".
IMPRESSION_PREFIX = "impression#"
# Segments of the parallel scan that reads the whole table for training.
SCAN_SEGMENTS = 4


def sort_key(ts: int, event_id: uuid.UUID) -> str:
    if ts < 0:
        raise ValueError("the DynamoDB click log keeps events with ts >= 0")
    return f"{ts:0{TS_DIGITS}d}#{event_id}"


@dataclass(frozen=True)
class DynamoDBConfig:
    table: str
    endpoint_url: str | None
    region: str

    @classmethod
    def from_settings(cls) -> DynamoDBConfig:
        if not settings.DYNAMODB_TABLE:
            raise ImproperlyConfigured("CLICKLOG_BACKEND=dynamodb needs DYNAMODB_TABLE")
        if not settings.AWS_DEFAULT_REGION:
            raise ImproperlyConfigured(
                "CLICKLOG_BACKEND=dynamodb needs AWS_DEFAULT_REGION"
            )
        return cls(
            table=settings.DYNAMODB_TABLE,
            endpoint_url=settings.DYNAMODB_ENDPOINT_URL or None,
            region=settings.AWS_DEFAULT_REGION,
        )


def dynamodb_client(config: DynamoDBConfig) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise ImproperlyConfigured(
            "CLICKLOG_BACKEND=dynamodb needs boto3 (pip install -r requirements.txt)"
        ) from exc
    return boto3.client(
        "dynamodb",
        endpoint_url=config.endpoint_url,
        region_name=config.region,
        config=Config(
            # Throttling and transient errors (5xx, connection resets) are retried
            # with exponential backoff and jitter by botocore itself.
            retries={"mode": "standard", "max_attempts": 8},
            connect_timeout=3,
            read_timeout=10,
            max_pool_connections=32,
        ),
    )


def table_create(client: Any, table: str) -> bool:
    """Create the click-log table if missing and wait until it is active; return
    True if it was created. Safe to run again."""
    try:
        client.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "user_key", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "event_id", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "user_key", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            LocalSecondaryIndexes=[
                {
                    "IndexName": EVENT_ID_INDEX,
                    "KeySchema": [
                        {"AttributeName": "user_key", "KeyType": "HASH"},
                        {"AttributeName": "event_id", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        )
        created = True
    except client.exceptions.ResourceInUseException:
        created = False
    client.get_waiter("table_exists").wait(
        TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    return created


def _to_item(event: Event) -> dict[str, Any]:
    item: dict[str, Any] = {
        "user_key": {"S": event.user_key},
        "sk": {"S": sort_key(event.ts, event.event_id)},
        "event_id": {"S": str(event.event_id)},
        "kind": {"S": event.kind},
        "movie_id": {"N": str(event.movie_id)},
        "ts": {"N": str(event.ts)},
    }
    if event.rating is not None:
        item["rating"] = {"N": repr(event.rating)}
    return item


def _to_event(item: dict[str, Any]) -> Event:
    rating = item.get("rating")
    return Event(
        event_id=uuid.UUID(item["event_id"]["S"]),
        user_key=item["user_key"]["S"],
        kind=item["kind"]["S"],
        movie_id=int(item["movie_id"]["N"]),
        rating=float(rating["N"]) if rating else None,
        ts=int(item["ts"]["N"]),
    )


def _impression_item(impression: Impression) -> dict[str, Any]:
    return {
        "user_key": {"S": IMPRESSION_PREFIX + impression.user_key},
        "sk": {"S": sort_key(impression.ts, impression.event_id)},
        "event_id": {"S": str(impression.event_id)},
        "kind": {"S": IMPRESSION},
        "surface": {"S": impression.surface},
        "model_version": {"S": impression.model_version},
        "movie_ids": {"L": [{"N": str(m)} for m in impression.movie_ids]},
        "request_id": {"S": impression.request_id},
        "ts": {"N": str(impression.ts)},
    }


def _to_impression(item: dict[str, Any]) -> Impression:
    return Impression(
        event_id=uuid.UUID(item["event_id"]["S"]),
        user_key=item["user_key"]["S"].removeprefix(IMPRESSION_PREFIX),
        surface=item["surface"]["S"],
        model_version=item["model_version"]["S"],
        movie_ids=tuple(int(m["N"]) for m in item["movie_ids"]["L"]),
        request_id=item["request_id"]["S"],
        ts=int(item["ts"]["N"]),
    )


class DynamoDBClickLogStore(ClickLogStore):
    # Items per query page; a visitor's history is read page after page.
    page_size = 1000

    def __init__(self, config: DynamoDBConfig | None = None) -> None:
        self.config = config or DynamoDBConfig.from_settings()
        self.client = dynamodb_client(self.config)
        self.table = self.config.table

    def add(self, event: Event) -> bool:
        if event.kind == "delete":
            raise ValueError("a delete event is applied, not stored")
        if self._sort_key_of(event.user_key, event.event_id) is not None:
            return False
        return self._put_new(_to_item(event))

    def history(self, user_key: str, limit: int | None = None) -> list[Event]:
        items = self._query(user_key, newest_first=True, limit=limit)
        return [_to_event(item) for item in items]

    def get(self, user_key: str, event_id: uuid.UUID) -> Event | None:
        sk = self._sort_key_of(user_key, event_id)
        if sk is None:
            return None
        item = self.client.get_item(
            TableName=self.table,
            Key={"user_key": {"S": user_key}, "sk": {"S": sk}},
            ConsistentRead=True,
        ).get("Item")
        return _to_event(item) if item else None

    def delete(self, user_key: str, event_id: uuid.UUID) -> bool:
        sk = self._sort_key_of(user_key, event_id)
        if sk is None:
            return False
        old = self.client.delete_item(
            TableName=self.table,
            Key={"user_key": {"S": user_key}, "sk": {"S": sk}},
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in old

    def delete_all(self, user_key: str, up_to_ts: int | None = None) -> int:
        below = None if up_to_ts is None else f"{up_to_ts + 1:0{TS_DIGITS}d}"
        keys = [
            {"user_key": item["user_key"], "sk": item["sk"]}
            for item in self._query(user_key, below=below, keys_only=True)
        ]
        for start in range(0, len(keys), 25):
            self._batch_delete(keys[start : start + 25])
        return len(keys)

    def user_keys(self, prefix: str = "") -> set[str]:
        params: dict[str, Any] = {
            "TableName": self.table,
            "ProjectionExpression": "user_key",
            "ConsistentRead": True,
        }
        params["FilterExpression"] = "NOT begins_with(user_key, :i)"
        params["ExpressionAttributeValues"] = {":i": {"S": IMPRESSION_PREFIX}}
        if prefix:
            params["FilterExpression"] += " AND begins_with(user_key, :p)"
            params["ExpressionAttributeValues"][":p"] = {"S": prefix}
        keys: set[str] = set()
        for page in self.client.get_paginator("scan").paginate(**params):
            keys.update(item["user_key"]["S"] for item in page.get("Items", []))
        return keys

    def add_impression(self, impression: Impression) -> bool:
        return self._put_new(_impression_item(impression))

    def _put_new(self, item: dict[str, Any]) -> bool:
        """PutItem unless the key is taken (atomically); False if it was."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(sk)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def impressions(self, user_key: str) -> list[Impression]:
        items = self._query(IMPRESSION_PREFIX + user_key, newest_first=True)
        return [_to_impression(item) for item in items]

    def events_scan(self) -> Iterator[Event]:
        items = self._parallel_scan("<>")
        return (_to_event(item) for item in items)

    def impressions_scan(self) -> Iterator[Impression]:
        return (_to_impression(item) for item in self._parallel_scan("="))

    def _parallel_scan(self, kind_test: str) -> Iterator[dict[str, Any]]:
        """Every item whose kind is (=) or is not (<>) an impression: a paginated
        scan in SCAN_SEGMENTS parallel segments, each read page after page."""

        def segment(number: int) -> list[dict[str, Any]]:
            params: dict[str, Any] = {
                "TableName": self.table,
                "Segment": number,
                "TotalSegments": SCAN_SEGMENTS,
                "FilterExpression": f"#kind {kind_test} :imp",
                "ExpressionAttributeNames": {"#kind": "kind"},
                "ExpressionAttributeValues": {":imp": {"S": IMPRESSION}},
                "ConsistentRead": True,
            }
            items: list[dict[str, Any]] = []
            for page in self.client.get_paginator("scan").paginate(**params):
                items.extend(page.get("Items", []))
            return items

        with ThreadPoolExecutor(SCAN_SEGMENTS) as pool:
            for items in pool.map(segment, range(SCAN_SEGMENTS)):
                yield from items

    def _batch_delete(self, keys: list[dict[str, Any]]) -> None:
        requests = {self.table: [{"DeleteRequest": {"Key": k}} for k in keys]}
        while requests:
            response = self.client.batch_write_item(RequestItems=requests)
            # Throttled parts come back unprocessed; botocore already backed off.
            requests = response.get("UnprocessedItems") or {}

    def _sort_key_of(self, user_key: str, event_id: uuid.UUID) -> str | None:
        response = self.client.query(
            TableName=self.table,
            IndexName=EVENT_ID_INDEX,
            KeyConditionExpression="user_key = :u AND event_id = :e",
            ExpressionAttributeValues={
                ":u": {"S": user_key},
                ":e": {"S": str(event_id)},
            },
            ConsistentRead=True,
        )
        items = response.get("Items") or []
        return items[0]["sk"]["S"] if items else None

    def _query(
        self,
        user_key: str,
        *,
        newest_first: bool = False,
        limit: int | None = None,
        below: str | None = None,
        keys_only: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """The visitor's items, page after page (a query returns at most 1 MB)."""
        condition = "user_key = :u"
        values: dict[str, Any] = {":u": {"S": user_key}}
        if below is not None:
            condition += " AND sk < :below"
            values[":below"] = {"S": below}
        params: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        if keys_only:
            params["ProjectionExpression"] = "user_key, sk"
        remaining = limit
        while True:
            params["Limit"] = self.page_size
            if remaining is not None:
                params["Limit"] = min(remaining, self.page_size)
            response = self.client.query(**params)
            yield from response.get("Items", [])
            if remaining is not None:
                remaining -= len(response.get("Items", []))
                if remaining <= 0:
                    return
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last
