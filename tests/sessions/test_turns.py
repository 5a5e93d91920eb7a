"""The StoredTurn model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from parley.sessions import ANY_OWNER, StoredTurn


def test_time_is_utc_and_required_aware() -> None:
    turn = StoredTurn(
        role="user", text="hi", time=datetime(2026, 5, 1, 12, tzinfo=timezone(timedelta(hours=-5)))
    )
    assert turn.time == datetime(2026, 5, 1, 17, tzinfo=UTC) and turn.time.tzinfo == UTC
    with pytest.raises(ValidationError):
        StoredTurn(role="user", text="hi", time=datetime(2026, 5, 1, 12))
    assert StoredTurn(role="assistant", text="x").time.tzinfo == UTC


def test_frozen_and_strict() -> None:
    turn = StoredTurn(role="user", text="hi")
    with pytest.raises(ValidationError):
        turn.text = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        StoredTurn(role="system", text="no")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        StoredTurn(role="user", text="hi", extra_field=1)  # type: ignore[call-arg]
    assert repr(ANY_OWNER) == "ANY_OWNER"
