"""Backend specifics: PostgreSQL migrations, the DynamoDB table, settings and the factory."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from parley.sessions import STORES, SessionError, SessionSettings, build_session_store
from parley.sessions.factory import store_class
from parley.sessions.sqlite_store import SQLiteSessionStore


def test_postgres_schema_is_created_once(postgres_schema_dsn: str) -> None:
    import psycopg

    from parley.sessions.postgres_store import MIGRATIONS, PostgresSessionStore

    with PostgresSessionStore(postgres_schema_dsn, pool_min=0, pool_max=2) as store:
        assert store.schema_version() == len(MIGRATIONS)
    with PostgresSessionStore(postgres_schema_dsn, pool_min=0, pool_max=2) as store:
        assert store.schema_version() == len(MIGRATIONS)
        store.create("alice", session_id="kept")
    with psycopg.connect(postgres_schema_dsn, autocommit=True) as conn:
        versions = conn.execute("SELECT version FROM parley_schema_version").fetchall()
        assert versions == [(n,) for n in range(1, len(MIGRATIONS) + 1)]
        conn.execute("INSERT INTO parley_schema_version (version) VALUES (999)")
    with pytest.raises(SessionError, match="upgrade Parley"):
        PostgresSessionStore(postgres_schema_dsn, pool_min=0, pool_max=2)


def test_postgres_unreachable_is_a_clear_error() -> None:
    from parley.sessions.postgres_store import PostgresSessionStore

    with pytest.raises(SessionError, match="cannot use PostgreSQL"):
        PostgresSessionStore(
            "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1", pool_timeout_s=2
        )


def test_dynamodb_table_as_the_seed_made_it(moto_endpoint: str) -> None:
    import boto3

    from parley.sessions.dynamodb_store import OWNER_INDEX, TTL_ATTRIBUTE, DynamoDBSessionStore

    with DynamoDBSessionStore("parley-table-test", endpoint_url=moto_endpoint) as store:
        store.create("alice")
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    table = client.describe_table(TableName="parley-table-test")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "session_id", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == [OWNER_INDEX]
    ttl = client.describe_time_to_live(TableName="parley-table-test")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", TTL_ATTRIBUTE)
    with DynamoDBSessionStore("parley-table-test", endpoint_url=moto_endpoint) as store:
        assert len(store.list()) == 1  # an existing table is used as it is

    # A table made by the seed (hash key only) gets the owner index added.
    client.create_table(
        TableName="seed-table",
        AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with DynamoDBSessionStore("seed-table", endpoint_url=moto_endpoint) as store:
        session = store.create("alice")
        assert [s.id for s in store.list("alice")] == [session.id]
    client.close()


def test_dynamodb_ttl_epoch_rounds_up(moto_endpoint: str) -> None:
    import boto3

    from parley.sessions.dynamodb_store import DynamoDBSessionStore

    with DynamoDBSessionStore("ttl-test", endpoint_url=moto_endpoint, ttl_seconds=90) as store:
        session = store.create("alice")
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    item = client.get_item(TableName="ttl-test", Key={"session_id": {"S": session.id}})["Item"]
    assert int(item["expires_at_epoch"]["N"]) >= session.expires_at.timestamp()
    assert item["owner_key"] == {"S": "u#alice"}
    client.close()


def test_settings_defaults_and_validation(tmp_path: Path) -> None:
    settings = SessionSettings()
    assert (settings.store, settings.ttl_seconds, settings.max_turns_per_session) == (
        "sqlite",
        30 * 24 * 3600,
        1000,
    )
    for bad in (
        {"store": "redis"},
        {"postgres_pool_min": 5, "postgres_pool_max": 2},
        {"ttl_seconds": 0},
        {"max_turns_per_session": 0},
        {"dynamodb_endpoint_url": "localhost:8000"},
        {"dynamodb_table": "x"},
        {"surprise": 1},
    ):
        with pytest.raises(ValidationError):
            SessionSettings(**bad)
    assert SessionSettings(ttl_seconds=None).ttl_seconds is None


def test_factory_builds_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    store = build_session_store(SessionSettings(), tmp_path)
    assert isinstance(store, SQLiteSessionStore)
    assert store.path == tmp_path / "sessions.db"
    assert store.ttl is not None and store.max_turns == 1000
    store.close()
    elsewhere = tmp_path / "other" / "s.db"
    with build_session_store(SessionSettings(sqlite_path=elsewhere), tmp_path) as store:
        store.create("x")
    assert elsewhere.exists()
    assert sorted(STORES) == ["dynamodb", "postgres", "sqlite"]
    for name in STORES:
        assert store_class(name).name == name
    with pytest.raises(SessionError, match="unknown session store"):
        store_class("redis")


def test_factory_builds_postgres_and_dynamodb(postgres_schema_dsn: str, moto_endpoint: str) -> None:
    settings = SessionSettings(store="postgres", postgres_dsn=postgres_schema_dsn, ttl_seconds=5)
    with build_session_store(settings, Path("/nonexistent")) as store:
        assert store.name == "postgres" and store.create("a").expires_at is not None
    settings = SessionSettings(
        store="dynamodb", dynamodb_table="factory-test", dynamodb_endpoint_url=moto_endpoint
    )
    with build_session_store(settings, Path("/nonexistent")) as store:
        assert store.name == "dynamodb" and store.create("a").version == 0
