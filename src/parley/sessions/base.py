"""The session store interface: sessions as lists of turns, kept outside the serving process."""

from __future__ import annotations

import builtins
import enum
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

Clock = Callable[[], datetime]
"""Returns the current time, tz-aware; stores take one so tests can move time forward."""

SESSION_ID = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
"""1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit, no `..`."""
SESSION_ID_PATTERN = SESSION_ID.pattern
MAX_OFFSET = 1_000_000_000
"""Largest listing offset accepted (databases reject offsets past 64-bit integers)."""


def utc_now() -> datetime:
    """The current time in UTC (the stores' default clock)."""
    return datetime.now(UTC)


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetimes must be tz-aware")
    return value.astimezone(UTC)


Rating = Literal["good", "bad"]

PENDING = "pending"
"""`labels["finish_reason"]` of the empty assistant turn stored with an accepted message,
until the reply replaces it (`SessionStore.replace_turn`)."""


class Feedback(BaseModel):
    """A person's rating of an assistant turn: thumbs up (`good`) or down (`bad`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rating: Rating
    comment: str | None = Field(default=None, max_length=2000)
    """Optional words on what was good or wrong."""
    time: AwareDatetime = Field(default_factory=utc_now)

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _to_utc(value)


class StoredTurn(BaseModel):
    """One message of a conversation, with what produced or judged it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["user", "assistant"]
    text: str
    time: AwareDatetime = Field(default_factory=utc_now)
    """When the turn happened, tz-aware (normalised to UTC)."""
    labels: dict[str, Any] = Field(default_factory=dict)
    """Moderation labels and decisions."""
    sources: list[dict[str, Any]] = Field(default_factory=list)
    """Retrieval citations."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Generation parameters used."""
    feedback: Feedback | None = None
    """The rating of an assistant turn, when someone gave one."""

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _to_utc(value)


class Session(BaseModel):
    """A whole conversation."""

    id: str
    owner: str | None
    title: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    version: int
    """Successful appends and renames so far; 0 when new. Pass it as `expected_version`."""
    turns: list[StoredTurn]

    @classmethod
    def new(
        cls,
        session_id: str,
        owner: str | None,
        title: str | None,
        now: datetime,
        expires_at: datetime | None,
    ) -> Session:
        """A just-created session: version 0, no turns."""
        return cls(
            id=session_id,
            owner=owner,
            title=title,
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
            version=0,
            turns=[],
        )


class SessionSummary(BaseModel):
    """A session without its turns, for listings."""

    id: str
    owner: str | None
    title: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    turn_count: int


class SessionError(Exception):
    """A session operation failed; the message says why."""


class SessionNotFound(SessionError):
    """No such session: missing, expired, or owned by someone else (never told apart)."""


class SessionExists(SessionError):
    """A session with this id already exists."""


class SessionFull(SessionError):
    """The session holds `max_turns_per_session` turns already."""


class VersionConflict(SessionError):
    """The session changed since the version the caller expected."""


class TurnNotFound(SessionError):
    """The session has no turn with that index."""


class NotAnAnswer(SessionError, ValueError):
    """Feedback goes on assistant turns only."""


class TurnPending(SessionError, ValueError):
    """The assistant turn is a reply still being written (or never finished): not rateable."""


class InvalidSessionId(SessionError, ValueError):
    """Session ids are 1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or
    digit, without `..`."""


class _AnyOwner(enum.Enum):
    ANY_OWNER = "ANY_OWNER"

    def __repr__(self) -> str:
        return "ANY_OWNER"


ANY_OWNER = _AnyOwner.ANY_OWNER
"""Owner argument meaning "do not check the owner" (None means "owned by nobody")."""

OwnerFilter = str | None | _AnyOwner


def check_session_id(session_id: str) -> str:
    """`session_id` if valid, else InvalidSessionId."""
    if not isinstance(session_id, str):
        raise InvalidSessionId(f"a session id is a string, not {type(session_id).__name__}")
    if not SESSION_ID.fullmatch(session_id):
        shown = repr(session_id[:40]) + ("..." if len(session_id) > 40 else "")
        raise InvalidSessionId(
            f"invalid session id {shown}: use 1-128 characters of A-Z a-z 0-9 . _ : -, "
            "starting with a letter or digit, without '..'"
        )
    return session_id


def owner_matches(stored: str | None, wanted: OwnerFilter) -> bool:
    """Whether a session owned by `stored` is visible to `wanted`."""
    return wanted is ANY_OWNER or stored == wanted


class SessionStore(ABC):
    """Create, read, append to, list, expire and delete sessions.

    Every method is thread-safe. Appends are atomic: concurrent appends to one session all
    land, in some order, and `expected_version` turns an append into compare-and-set.
    An expired session behaves as missing everywhere; `purge_expired` reclaims its space.
    """

    name: ClassVar[str]

    def __init__(
        self,
        *,
        ttl_seconds: int | None = None,
        max_turns_per_session: int = 1000,
        clock: Clock | None = None,
    ) -> None:
        if ttl_seconds is not None and ttl_seconds < 1:
            raise ValueError("ttl_seconds must be at least 1 (or None: never expire)")
        if max_turns_per_session < 1:
            raise ValueError("max_turns_per_session must be at least 1")
        self.ttl = timedelta(seconds=ttl_seconds) if ttl_seconds is not None else None
        self.max_turns = max_turns_per_session
        self._clock = clock or utc_now

    # -- the interface --------------------------------------------------------------------

    @abstractmethod
    def create(
        self, owner: str | None, *, session_id: str | None = None, title: str | None = None
    ) -> Session:
        """A new empty session (a uuid4 id unless given); SessionExists if the id is taken."""

    @abstractmethod
    def get(self, session_id: str, owner: OwnerFilter = ANY_OWNER) -> Session | None:
        """The session, or None when missing, expired or owned by someone else."""

    @abstractmethod
    def append(
        self,
        session_id: str,
        turns: Sequence[StoredTurn],
        *,
        owner: OwnerFilter = ANY_OWNER,
        expected_version: int | None = None,
    ) -> Session:
        """Atomically add turns; refreshes `updated_at` and `expires_at`; returns the result.

        SessionNotFound when missing, expired or foreign; VersionConflict when
        `expected_version` is given and differs; SessionFull past the turn limit.
        """

    @abstractmethod
    def replace_turn(
        self, session_id: str, index: int, turn: StoredTurn, *, owner: OwnerFilter = ANY_OWNER
    ) -> None:
        """Atomically put `turn` at position `index` (an existing turn: the pending reply an
        accepted message was stored with). SessionNotFound when missing, expired or foreign;
        IndexError when the session has no turn `index`."""

    @abstractmethod
    def set_feedback(
        self,
        session_id: str,
        turn: int,
        feedback: Feedback | None,
        *,
        owner: OwnerFilter = ANY_OWNER,
    ) -> Session:
        """Rate assistant turn `turn` (0-based, as in `turns`); None removes the rating.

        Not a change of the conversation: version, updated_at and expiry stay. SessionNotFound
        when missing, expired or foreign; TurnNotFound past the last turn; NotAnAnswer for a
        user turn.
        """

    def get_or_create(self, session_id: str, owner: str | None) -> Session:
        """`owner`'s session `session_id`, created empty when nobody has that id.

        SessionNotFound when it belongs to someone else (never claimed, never loaded).
        Idempotent under races: concurrent first uses of one id all get the same session.
        """
        session = self.get(session_id, owner)
        if session is not None:
            return session
        try:
            return self.create(owner, session_id=session_id)
        except SessionExists:
            pass  # created meanwhile, by this owner (found below) or another one
        session = self.get(session_id, owner)
        if session is None:
            raise SessionNotFound(f"session {session_id!r} not found")
        return session

    @abstractmethod
    def rename(self, session_id: str, title: str, *, owner: OwnerFilter = ANY_OWNER) -> Session:
        """Set the title (counts as a change: version, updated_at and expiry move on)."""

    @abstractmethod
    def list(
        self, owner: OwnerFilter = ANY_OWNER, *, limit: int = 50, offset: int = 0
    ) -> list[SessionSummary]:
        """Live sessions of `owner` (all owners with ANY_OWNER), most recently updated first."""

    @abstractmethod
    def delete(self, session_id: str, *, owner: OwnerFilter = ANY_OWNER) -> bool:
        """Delete the session; True when a live session of `owner` was deleted."""

    @abstractmethod
    def purge_expired(self) -> int:
        """Physically remove expired sessions; returns how many."""

    def export(self, session_id: str, *, owner: OwnerFilter = ANY_OWNER) -> dict[str, Any]:
        """The whole session as a JSON-ready dict; SessionNotFound when not visible."""
        session = self.get(session_id, owner)
        if session is None:
            raise SessionNotFound(f"session {session_id!r} not found")
        return {"format": "parley.session.v1", **session.model_dump(mode="json")}

    def close(self) -> None:  # noqa: B027 - stores without resources need nothing here
        """Release connections; the store is unusable afterwards."""

    # -- helpers for implementations ------------------------------------------------------

    def now(self) -> datetime:
        """The clock's time in UTC."""
        return _to_utc(self._clock())

    def expiry(self, now: datetime) -> datetime | None:
        """When a session changed at `now` expires."""
        return now + self.ttl if self.ttl is not None else None

    def check_room(self, session_id: str, current: int, adding: int) -> None:
        """SessionFull unless `adding` more turns fit."""
        if current + adding > self.max_turns:
            raise SessionFull(
                f"session {session_id!r} holds {current} turns; adding {adding} would pass the "
                f"limit of {self.max_turns} (sessions.max_turns_per_session): start a new session"
            )

    @staticmethod
    def version_conflict(
        session_id: str, version: int, expected: int | None
    ) -> VersionConflict | None:
        """The VersionConflict when the caller `expected` another version, else None."""
        if expected is None or version == expected:
            return None
        return VersionConflict(f"session {session_id!r} is at version {version}, not {expected}")

    @staticmethod
    def check_feedback_target(
        session_id: str, turn: int, role: str | None, labels: dict[str, Any] | None = None
    ) -> None:
        """TurnNotFound when turn `turn` does not exist (role None), NotAnAnswer for a user's,
        TurnPending for a reply not written yet (`labels` of the turn)."""
        if role is None or turn < 0:
            raise TurnNotFound(f"session {session_id!r} has no turn {turn}")
        if role != "assistant":
            raise NotAnAnswer(f"turn {turn} of session {session_id!r} is the user's; rate replies")
        if (labels or {}).get("finish_reason") == PENDING:
            raise TurnPending(
                f"turn {turn} of session {session_id!r} is a reply still being written; "
                "rate it once it is finished"
            )

    @staticmethod
    def check_list_args(limit: int, offset: int) -> None:
        """ValueError for an offset outside 0..MAX_OFFSET or a limit outside 1..1000."""
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be between 1 and 1000")
        if not 0 <= offset <= MAX_OFFSET:
            raise ValueError(f"offset must be between 0 and {MAX_OFFSET}")

    @staticmethod
    def check_turn_index(session_id: str, index: int, count: int) -> None:
        """IndexError unless the session's `count` turns include `index`."""
        if not 0 <= index < count:
            raise IndexError(f"session {session_id!r} has no turn {index} ({count} turns)")

    @staticmethod
    def check_turns(turns: Sequence[StoredTurn]) -> builtins.list[StoredTurn]:
        """The turns as a list; ValueError when empty or not StoredTurn."""
        turns = list(turns)
        if not turns:
            raise ValueError("append needs at least one turn")
        for turn in turns:
            if not isinstance(turn, StoredTurn):
                raise TypeError(f"turns must be StoredTurn, got {type(turn).__name__}")
        return turns

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
