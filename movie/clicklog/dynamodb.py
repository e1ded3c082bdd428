"""ClickLog store in a DynamoDB table (boto3).

Table layout (created by `manage.py dynamodb_setup`):
- partition key `user_key`, sort key `sk` = "<ts ms, 16 digits>#<event_id>": a
  visitor's events sort by time; zero-padding makes string order equal time order.
- local secondary index `by_event_id` (sort key `event_id`): finds one of the
  visitor's events by id without knowing its ts, still inside their partition.

- an id marker per stored click or rating: partition `id#<user_key>`, sort key the
  event_id, no other attribute, written and deleted with its event.

Each event stored once, without a read per event:
- A replay from the bus carries the same event_id and ts, hence the same key: a
  put of it overwrites the stored item with the same content, still one item.
- An event_id sent again with another ts (a client retrying `POST /api/events`
  with its own event_id while the first copy is still on its way gets a new ts)
  would be a second item; the id marker catches it. `add` reads the event_id
  index first. `apply_batch` (the consumer) reads the markers of a whole batch
  in one BatchGetItem, drops the events already marked (and repeats inside the
  batch), and writes the rest with their markers in BatchWriteItems of 25.
  Both copies carry the visitor's key, so they are on one Kafka partition, in
  order, and whichever consumer reads the second copy has read the first one
  before it: in the same batch (dropped as a repeat), in an earlier batch of
  its own (written, marker included, before this batch is read), or before the
  group's committed offset (written before that commit). So the first copy's
  marker is always written before the second copy's marker is read.
- Impressions get no marker: their ts is set once, on the server, so every
  copy has the same key.
DynamoDB transactions would give the same guarantee, but moto_server copies the
whole table for every item of a transaction.
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
from movie.impressions import Impression, Message

EVENT_ID_INDEX = "by_event_id"
TS_DIGITS = 16
# Impressions live in partitions of their own, "impression#<user_key>", so a
# visitor's history query never reads them. Visitor keys never contain "#".
IMPRESSION_PREFIX = "impression#"
# Partitions of the id markers, "id#<user_key>" (sort key: the event_id).
MARKER_PREFIX = "id#"
# Segments of the parallel scan that reads the whole table for training.
SCAN_SEGMENTS = 4
# DynamoDB's limits: items per BatchWriteItem, keys per BatchGetItem.
WRITE_BATCH = 25
READ_BATCH = 100


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


def create_table(client: Any, table: str) -> bool:
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


def _marker_key(user_key: str, event_id: uuid.UUID) -> dict[str, Any]:
    return {"user_key": {"S": MARKER_PREFIX + user_key}, "sk": {"S": str(event_id)}}


def _put(item: dict[str, Any]) -> dict[str, Any]:
    return {"PutRequest": {"Item": item}}


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
    batch_limit = READ_BATCH  # one read of the id markers per batch

    def __init__(self, config: DynamoDBConfig | None = None) -> None:
        self.config = config or DynamoDBConfig.from_settings()
        self.client = dynamodb_client(self.config)
        self.table = self.config.table

    def add(self, event: Event) -> bool:
        if event.kind == "delete":
            raise ValueError("a delete event is applied, not stored")
        if self._sort_key_of(event.user_key, event.event_id) is not None:
            return False
        marker = _marker_key(event.user_key, event.event_id)
        self._batch_requests([_put(_to_item(event)), _put(marker)])
        return True

    def apply_batch(self, messages: list[Message]) -> None:
        new: dict[uuid.UUID, Message] = {}
        for message in messages:
            if message.kind == "delete":
                raise ValueError("a delete event is applied, not stored")
            new.setdefault(message.event_id, message)  # a repeat: the first copy
        events = [m for m in new.values() if isinstance(m, Event)]
        for marked in self._marked([(e.user_key, e.event_id) for e in events]):
            del new[marked]
        requests = []
        for message in new.values():
            if isinstance(message, Impression):
                requests.append(_put(_impression_item(message)))
            else:
                requests.append(_put(_to_item(message)))
                requests.append(_put(_marker_key(message.user_key, message.event_id)))
        self._batch_requests(requests)

    def _marked(self, keys: list[tuple[str, uuid.UUID]]) -> set[uuid.UUID]:
        """The event ids among `keys` (user_key, event_id) that have an id marker
        (strongly consistent reads, READ_BATCH keys per request)."""
        marked: set[uuid.UUID] = set()
        for start in range(0, len(keys), READ_BATCH):
            chunk = keys[start : start + READ_BATCH]
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [_marker_key(u, e) for u, e in chunk],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    marked.add(uuid.UUID(item["sk"]["S"]))
                # Throttled keys come back unprocessed; botocore already backed off.
                request = response.get("UnprocessedKeys") or {}
        return marked

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
        self._batch_delete([(sk, str(event_id))], user_key)
        return True

    def delete_all(self, user_key: str, up_to_ts: int | None = None) -> int:
        below = None if up_to_ts is None else f"{up_to_ts + 1:0{TS_DIGITS}d}"
        keys = [
            (item["sk"]["S"], item["event_id"]["S"])
            for item in self._query(user_key, below=below, keys_only=True)
        ]
        self._batch_delete(keys, user_key)
        return len(keys)

    def user_keys(self, prefix: str = "") -> set[str]:
        params: dict[str, Any] = {
            "TableName": self.table,
            "ProjectionExpression": "user_key",
            "ConsistentRead": True,
        }
        params["FilterExpression"] = (
            "NOT begins_with(user_key, :i) AND NOT begins_with(user_key, :m)"
        )
        params["ExpressionAttributeValues"] = {
            ":i": {"S": IMPRESSION_PREFIX},
            ":m": {"S": MARKER_PREFIX},
        }
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
                # Id markers have no kind.
                "FilterExpression": (
                    f"attribute_exists(#kind) AND #kind {kind_test} :imp"
                ),
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

    def _batch_delete(self, keys: list[tuple[str, str]], user_key: str) -> None:
        """Delete the visitor's events (sk, event_id) and their id markers."""
        requests = []
        for sk, event_id in keys:
            event_key = {"user_key": {"S": user_key}, "sk": {"S": sk}}
            marker = _marker_key(user_key, uuid.UUID(event_id))
            requests += [{"DeleteRequest": {"Key": k}} for k in (event_key, marker)]
        self._batch_requests(requests)

    def _batch_requests(self, requests: list[dict[str, Any]]) -> None:
        """BatchWriteItem, WRITE_BATCH requests at a time, until all are done."""
        for start in range(0, len(requests), WRITE_BATCH):
            pending = {self.table: requests[start : start + WRITE_BATCH]}
            while pending:
                response = self.client.batch_write_item(RequestItems=pending)
                # Throttled parts come back unprocessed; botocore already backed off.
                pending = response.get("UnprocessedItems") or {}

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
            params["ProjectionExpression"] = "user_key, sk, event_id"
        remaining = limit
        if remaining is not None and remaining <= 0:
            return  # DynamoDB takes no Limit below 1
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
