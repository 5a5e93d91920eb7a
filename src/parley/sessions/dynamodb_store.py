"""DynamoDB session store (boto3): one item per session, as the seed's table had it.

The seed read the item, added a turn and put the whole item back, so two concurrent requests
lost one turn. Here every change is a single `UpdateItem` with `list_append` and a condition
(the session exists, is live, belongs to the caller and, when asked, is at the expected
version), which DynamoDB applies atomically per item.
"""

from __future__ import annotations

import builtins
import logging
import math
import re
import uuid
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, ClassVar

from parley.registry import Shared
from parley.sessions.base import (
    ANY_OWNER,
    Clock,
    Feedback,
    OwnerFilter,
    Session,
    SessionError,
    SessionExists,
    SessionNotFound,
    SessionStore,
    SessionSummary,
    StoredTurn,
    VersionConflict,
    check_session_id,
    owner_matches,
)
from parley.sessions.settings import SessionSettings

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError as exc:  # pragma: no cover - depends on the install
    raise SessionError("the dynamodb session store needs boto3: pip install boto3") from exc

log = logging.getLogger("parley")

OWNER_INDEX = "owner-updated_at-index"
TTL_ATTRIBUTE = "expires_at_epoch"
NO_OWNER = "-"
"""owner_key of sessions without an owner (a GSI key cannot be missing and still be listed)."""

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so string order is time order
_PLACEHOLDER = re.compile(r"#\w+")
_NAMES = {
    "#id": "session_id",
    "#owner": "owner_key",
    "#title": "title",
    "#created": "created_at",
    "#updated": "updated_at",
    "#expires": "expires_at",
    "#epoch": TTL_ATTRIBUTE,
    "#version": "version",
    "#count": "turn_count",
    "#turns": "turns",
}
_SUMMARY = "#id, #owner, #title, #created, #updated, #expires, #count"
_LIVE = "attribute_exists(#id) AND (attribute_not_exists(#expires) OR #expires > :now)"


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_TIME_FORMAT)


def _parse_time(value: str) -> datetime:
    return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)


def _owner_key(owner: str | None) -> str:
    # Prefixed so that no real owner can collide with the no-owner sentinel.
    return NO_OWNER if owner is None else "u#" + owner


def _owner(key: str) -> str | None:
    return None if key == NO_OWNER else key[2:]


def _names(*expressions: str | None) -> dict[str, str]:
    """ExpressionAttributeNames for the placeholders used (DynamoDB rejects unused ones)."""
    used = set().union(*(_PLACEHOLDER.findall(e) for e in expressions if e))
    return {name: _NAMES[name] for name in used}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


class DynamoDBSessionStore(SessionStore):
    """Sessions as items of one DynamoDB table (hash key `session_id`, on-demand billing)."""

    name: ClassVar[str] = "dynamodb"

    @classmethod
    def from_settings(cls, settings: SessionSettings, *, shared: Shared) -> DynamoDBSessionStore:
        return cls(
            settings.dynamodb_table,
            region=settings.dynamodb_region,
            endpoint_url=settings.dynamodb_endpoint_url,
            ttl_seconds=settings.ttl_seconds,
            max_turns_per_session=settings.max_turns_per_session,
            clock=shared.clock,
        )

    def __init__(
        self,
        table: str = "parley-sessions",
        *,
        region: str = "us-east-1",
        endpoint_url: str | None = None,
        create_table: bool = True,
        ttl_seconds: int | None = None,
        max_turns_per_session: int = 1000,
        clock: Clock | None = None,
        waiter_delay_s: int = 2,
    ) -> None:
        super().__init__(
            ttl_seconds=ttl_seconds, max_turns_per_session=max_turns_per_session, clock=clock
        )
        self.table = table
        # Clients are thread-safe; a bigger pool lets many request threads write at once.
        self._client = boto3.session.Session().client(
            "dynamodb",
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(max_pool_connections=64, retries={"mode": "standard"}),
        )
        try:
            if create_table:
                self._ensure_table(waiter_delay_s)
        except (ClientError, BotoCoreError) as exc:
            raise SessionError(f"cannot use DynamoDB table {table!r} for sessions: {exc}") from exc

    # -- table ----------------------------------------------------------------------------

    def _ensure_table(self, waiter_delay_s: int) -> None:
        try:
            description = self._client.describe_table(TableName=self.table)["Table"]
        except self._client.exceptions.ResourceNotFoundException:
            description = None
        if description is None:
            log.info("creating DynamoDB table %s", self.table)
            # ResourceInUse: another replica is creating it right now.
            with suppress(self._client.exceptions.ResourceInUseException):
                self._client.create_table(
                    TableName=self.table,
                    AttributeDefinitions=[
                        {"AttributeName": "session_id", "AttributeType": "S"},
                        {"AttributeName": "owner_key", "AttributeType": "S"},
                        {"AttributeName": "updated_at", "AttributeType": "S"},
                    ],
                    KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
                    BillingMode="PAY_PER_REQUEST",
                    GlobalSecondaryIndexes=[self._owner_index()],
                )
        waiter = self._client.get_waiter("table_exists")
        waiter.wait(
            TableName=self.table, WaiterConfig={"Delay": waiter_delay_s, "MaxAttempts": 150}
        )
        description = self._client.describe_table(TableName=self.table)["Table"]
        indexes = {i["IndexName"] for i in description.get("GlobalSecondaryIndexes", [])}
        if OWNER_INDEX not in indexes:
            # A table made before Parley (the seed's) has no index for listing by owner.
            log.warning("adding index %s to DynamoDB table %s", OWNER_INDEX, self.table)
            self._client.update_table(
                TableName=self.table,
                AttributeDefinitions=[
                    {"AttributeName": "owner_key", "AttributeType": "S"},
                    {"AttributeName": "updated_at", "AttributeType": "S"},
                ],
                GlobalSecondaryIndexUpdates=[{"Create": self._owner_index()}],
            )
        self._ensure_ttl()

    @staticmethod
    def _owner_index() -> dict[str, Any]:
        return {
            "IndexName": OWNER_INDEX,
            "KeySchema": [
                {"AttributeName": "owner_key", "KeyType": "HASH"},
                {"AttributeName": "updated_at", "KeyType": "RANGE"},
            ],
            # Summaries only: projecting the turns would copy every conversation.
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": ["title", "created_at", "expires_at", "turn_count"],
            },
        }

    def _ensure_ttl(self) -> None:
        try:
            ttl = self._client.describe_time_to_live(TableName=self.table)
            status = ttl.get("TimeToLiveDescription", {})
            if status.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
                if status.get("AttributeName") != TTL_ATTRIBUTE:
                    log.warning(
                        "DynamoDB table %s expires items by %r, not %r: expired sessions are "
                        "hidden but not deleted by DynamoDB",
                        self.table,
                        status.get("AttributeName"),
                        TTL_ATTRIBUTE,
                    )
                return
            self._client.update_time_to_live(
                TableName=self.table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
            )
        except ClientError as exc:
            # Reads hide expired sessions anyway; without TTL they just stay until purged.
            log.warning("could not enable TTL on DynamoDB table %s: %s", self.table, exc)

    # -- items ----------------------------------------------------------------------------

    def _expiry_values(self, now: datetime) -> dict[str, dict[str, str]]:
        expires_at = self.expiry(now)
        if expires_at is None:
            return {}
        # TTL wants whole epoch seconds; round up so DynamoDB never deletes a live session.
        epoch = math.ceil(expires_at.timestamp())
        return {":expires": _s(_time(expires_at)), ":epoch": _n(epoch)}

    def _expiry_update(self) -> str:
        if self.ttl is None:
            return " REMOVE #expires, #epoch"
        return ", #expires = :expires, #epoch = :epoch"

    @staticmethod
    def _live(item: dict[str, Any], owner: OwnerFilter, now: datetime) -> bool:
        if not owner_matches(_owner(item["owner_key"]["S"]), owner):
            return False
        expires = item.get("expires_at")
        return expires is None or _parse_time(expires["S"]) > now

    @staticmethod
    def _header(item: dict[str, Any]) -> dict[str, Any]:
        """The fields a session and its summary share, from a DynamoDB item."""
        expires = item.get("expires_at")
        title = item.get("title")
        return {
            "id": item["session_id"]["S"],
            "owner": _owner(item["owner_key"]["S"]),
            "title": title["S"] if title else None,
            "created_at": _parse_time(item["created_at"]["S"]),
            "updated_at": _parse_time(item["updated_at"]["S"]),
            "expires_at": _parse_time(expires["S"]) if expires else None,
        }

    @classmethod
    def _session(cls, item: dict[str, Any]) -> Session:
        return Session(
            **cls._header(item),
            version=int(item["version"]["N"]),
            turns=[StoredTurn.model_validate_json(t["S"]) for t in item["turns"]["L"]],
        )

    @classmethod
    def _summary(cls, item: dict[str, Any]) -> SessionSummary:
        return SessionSummary(
            **cls._header(item),
            turn_count=int(item["turn_count"]["N"]),
        )

    def _error(self, exc: Exception) -> SessionError:
        message = str(exc)
        if "Item size has exceeded" in message:
            return SessionError(
                "the session is too large for one DynamoDB item (400 KB): start a new session "
                "or lower sessions.max_turns_per_session"
            )
        return SessionError(f"DynamoDB session store: {message}")

    def _update(
        self, session_id: str, update: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Run a conditional UpdateItem; the new item, or None when the condition failed."""
        try:
            response = self._client.update_item(
                TableName=self.table,
                Key={"session_id": _s(session_id)},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=_names(update, condition),
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise self._error(exc) from exc
            return None
        except BotoCoreError as exc:
            raise self._error(exc) from exc
        return response["Attributes"]

    def _why_not(
        self, session_id: str, owner: OwnerFilter, now: datetime, expected: int | None, adding: int
    ) -> SessionError:
        """The error for a failed conditional write, from a fresh read of the item."""
        item = self._get_item(session_id)
        if item is None or not self._live(item, owner, now):
            return SessionNotFound(f"session {session_id!r} not found")
        version = int(item["version"]["N"])
        if conflict := self.version_conflict(session_id, version, expected):
            return conflict
        try:
            self.check_room(session_id, int(item["turn_count"]["N"]), adding)
        except SessionError as exc:
            return exc
        # Replaced (expired, then created anew) between the failed write and this read.
        return VersionConflict(f"session {session_id!r} changed during the update; retry")

    def _get_item(self, session_id: str) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(
                TableName=self.table, Key={"session_id": _s(session_id)}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc) from exc
        return response.get("Item")

    # -- the interface --------------------------------------------------------------------

    def create(
        self, owner: str | None, *, session_id: str | None = None, title: str | None = None
    ) -> Session:
        session_id = check_session_id(session_id) if session_id is not None else str(uuid.uuid4())
        now = self.now()
        expires_at = self.expiry(now)
        item: dict[str, Any] = {
            "session_id": _s(session_id),
            "owner_key": _s(_owner_key(owner)),
            "created_at": _s(_time(now)),
            "updated_at": _s(_time(now)),
            "version": _n(0),
            "turn_count": _n(0),
            "turns": {"L": []},
        }
        if title is not None:
            item["title"] = _s(title)
        expiry = self._expiry_values(now)
        if expiry:
            item["expires_at"] = expiry[":expires"]
            item[TTL_ATTRIBUTE] = expiry[":epoch"]
        # An expired leftover that TTL has not deleted yet may be replaced.
        condition = "attribute_not_exists(#id) OR #expires <= :now"
        try:
            self._client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames=_names(condition),
                ExpressionAttributeValues={":now": _s(_time(now))},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise SessionExists(f"session {session_id!r} already exists") from None
            raise self._error(exc) from exc
        except BotoCoreError as exc:
            raise self._error(exc) from exc
        return Session.new(session_id, owner, title, now, expires_at)

    def get(self, session_id: str, owner: OwnerFilter = ANY_OWNER) -> Session | None:
        check_session_id(session_id)
        item = self._get_item(session_id)
        if item is None or not self._live(item, owner, self.now()):
            return None
        return self._session(item)

    def _write_condition(self, owner: OwnerFilter, values: dict[str, Any]) -> str:
        condition = _LIVE
        if owner is not ANY_OWNER:
            condition += " AND #owner = :owner"
            values[":owner"] = _s(_owner_key(owner))
        return condition

    def append(
        self,
        session_id: str,
        turns: Sequence[StoredTurn],
        *,
        owner: OwnerFilter = ANY_OWNER,
        expected_version: int | None = None,
    ) -> Session:
        check_session_id(session_id)
        turns = self.check_turns(turns)
        if len(turns) > self.max_turns:
            self.check_room(session_id, 0, len(turns))
        now = self.now()
        values: dict[str, Any] = {
            ":now": _s(_time(now)),
            ":new": {"L": [_s(t.model_dump_json()) for t in turns]},
            ":one": _n(1),
            ":added": _n(len(turns)),
            ":room": _n(self.max_turns - len(turns)),
            **self._expiry_values(now),
        }
        condition = self._write_condition(owner, values) + " AND #count <= :room"
        if expected_version is not None:
            condition += " AND #version = :expected"
            values[":expected"] = _n(expected_version)
        update = (
            "SET #turns = list_append(#turns, :new), #version = #version + :one, "
            "#count = #count + :added, #updated = :now" + self._expiry_update()
        )
        item = self._update(session_id, update, condition, values)
        if item is None:
            raise self._why_not(session_id, owner, now, expected_version, len(turns))
        return self._session(item)

    def replace_turn(
        self, session_id: str, index: int, turn: StoredTurn, *, owner: OwnerFilter = ANY_OWNER
    ) -> None:
        check_session_id(session_id)
        if index < 0:
            raise IndexError(f"session {session_id!r} has no turn {index}")
        now = self.now()
        values: dict[str, Any] = {
            ":now": _s(_time(now)),
            ":turn": _s(turn.model_dump_json()),
            ":one": _n(1),
            ":index": _n(index),
            **self._expiry_values(now),
        }
        condition = self._write_condition(owner, values) + " AND #count > :index"
        # A list index in an update expression is part of the expression, not a value.
        update = (
            f"SET #turns[{int(index)}] = :turn, #version = #version + :one, #updated = :now"
            + self._expiry_update()
        )
        if self._update(session_id, update, condition, values) is None:
            item = self._get_item(session_id)
            if item is None or not self._live(item, owner, now):
                raise SessionNotFound(f"session {session_id!r} not found")
            self.check_turn_index(session_id, index, int(item["turn_count"]["N"]))
            raise VersionConflict(f"session {session_id!r} changed during the update; retry")

    def set_feedback(
        self,
        session_id: str,
        turn: int,
        feedback: Feedback | None,
        *,
        owner: OwnerFilter = ANY_OWNER,
    ) -> Session:
        # Turns are JSON strings in the `turns` list: the rated one is replaced in place, on
        # the condition that it is still what was read (a pending reply may be replaced by
        # `replace_turn` meanwhile; a retry then sees the finished one).
        check_session_id(session_id)
        for _ in range(3):
            now = self.now()
            item = self._get_item(session_id)
            if item is None or not self._live(item, owner, now):
                raise SessionNotFound(f"session {session_id!r} not found")
            stored = item["turns"]["L"]
            old = stored[turn]["S"] if 0 <= turn < len(stored) else None
            rated = StoredTurn.model_validate_json(old) if old is not None else None
            self.check_feedback_target(
                session_id, turn, rated.role if rated else None, rated.labels if rated else None
            )
            assert rated is not None and old is not None
            new = rated.model_copy(update={"feedback": feedback})
            values: dict[str, Any] = {
                ":now": _s(_time(now)),
                ":old": _s(old),
                ":new": _s(new.model_dump_json()),
            }
            condition = self._write_condition(owner, values) + f" AND #turns[{turn}] = :old"
            updated = self._update(session_id, f"SET #turns[{turn}] = :new", condition, values)
            if updated is not None:
                return self._session(updated)
        raise VersionConflict(f"session {session_id!r} kept changing; retry the rating")

    def rename(self, session_id: str, title: str, *, owner: OwnerFilter = ANY_OWNER) -> Session:
        check_session_id(session_id)
        now = self.now()
        values: dict[str, Any] = {
            ":now": _s(_time(now)),
            ":title": _s(title),
            ":one": _n(1),
            **self._expiry_values(now),
        }
        condition = self._write_condition(owner, values)
        update = (
            "SET #title = :title, #version = #version + :one, #updated = :now"
            + self._expiry_update()
        )
        item = self._update(session_id, update, condition, values)
        if item is None:
            raise SessionNotFound(f"session {session_id!r} not found")
        return self._session(item)

    def list(
        self, owner: OwnerFilter = ANY_OWNER, *, limit: int = 50, offset: int = 0
    ) -> list[SessionSummary]:
        self.check_list_args(limit, offset)
        now = _time(self.now())
        live = "attribute_not_exists(#expires) OR #expires > :now"
        try:
            if owner is ANY_OWNER:
                # No key to query by: scan the summaries (an admin listing, not a hot path).
                items = self._pages(
                    "scan",
                    TableName=self.table,
                    ProjectionExpression=_SUMMARY,
                    FilterExpression=live,
                    ExpressionAttributeNames=_names(_SUMMARY, live),
                    ExpressionAttributeValues={":now": _s(now)},
                )
                items.sort(key=lambda i: (i["updated_at"]["S"], i["session_id"]["S"]))
                items.reverse()
                return [self._summary(i) for i in items[offset : offset + limit]]
            key = "#owner = :owner"
            items = self._pages(
                "query",
                stop_after=offset + limit,
                TableName=self.table,
                IndexName=OWNER_INDEX,
                KeyConditionExpression=key,
                FilterExpression=live,
                ScanIndexForward=False,  # newest updated_at first
                ExpressionAttributeNames=_names(key, live),
                ExpressionAttributeValues={":owner": _s(_owner_key(owner)), ":now": _s(now)},
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc) from exc
        return [self._summary(i) for i in items[offset : offset + limit]]

    def _pages(
        self, operation: str, stop_after: int | None = None, **kwargs: Any
    ) -> builtins.list[Any]:
        items: builtins.list[Any] = []
        for page in self._client.get_paginator(operation).paginate(**kwargs):
            items.extend(page.get("Items", []))
            if stop_after is not None and len(items) >= stop_after:
                break
        return items

    def delete(self, session_id: str, *, owner: OwnerFilter = ANY_OWNER) -> bool:
        check_session_id(session_id)
        condition = "attribute_exists(#id)"
        values: dict[str, Any] = {}
        if owner is not ANY_OWNER:
            condition += " AND #owner = :owner"
            values[":owner"] = _s(_owner_key(owner))
        try:
            response = self._client.delete_item(
                TableName=self.table,
                Key={"session_id": _s(session_id)},
                ConditionExpression=condition,
                ExpressionAttributeNames=_names(condition),
                ReturnValues="ALL_OLD",
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise self._error(exc) from exc
        except BotoCoreError as exc:
            raise self._error(exc) from exc
        old = response.get("Attributes")
        return old is not None and self._live(old, owner, self.now())

    def purge_expired(self) -> int:
        now = _time(self.now())
        expired = "#expires <= :now"
        purged = 0
        try:
            items = self._pages(
                "scan",
                TableName=self.table,
                ProjectionExpression="#id",
                FilterExpression=expired,
                ExpressionAttributeNames=_names("#id", expired),
                ExpressionAttributeValues={":now": _s(now)},
            )
            for item in items:
                try:
                    # Still expired? A create may have reused the id since the scan.
                    self._client.delete_item(
                        TableName=self.table,
                        Key={"session_id": item["session_id"]},
                        ConditionExpression=expired,
                        ExpressionAttributeNames=_names(expired),
                        ExpressionAttributeValues={":now": _s(now)},
                    )
                    purged += 1
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                        raise
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc) from exc
        return purged

    def close(self) -> None:
        self._client.close()
