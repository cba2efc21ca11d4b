"""The database tables. Every row belongs to one workspace (tenant), directly or through its parent.

Only ``frontdesk.conversations`` (the ``do_*`` actions) and the admin actions change these rows;
everything else reads them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite stores none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
BigID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime,
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    # The public key written in the widget snippet (data-workspace) and in URLs.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    allowed_origins: Mapped[list[Any]] = mapped_column(default=list)
    identity_secret: Mapped[str] = mapped_column(String(128))
    require_identity: Mapped[bool] = mapped_column(Boolean, default=False)
    default_language: Mapped[str] = mapped_column(String(8), default="en")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Bumped by every knowledge-base change: each process compares it with the revision its
    # search index was built from, so an edit made through any process reaches all of them.
    kb_revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def bot_enabled(self) -> bool:
        """Whether the bot answers customers (``settings["bot_enabled"]``; on by default)."""
        return bool((self.settings or {}).get("bot_enabled", True))

    @property
    def keyword_suggestions_quiet_minutes(self) -> int:
        """F6: no keyword article suggestions for a visitor who read the help center this
        recently (``settings["keyword_suggestions_quiet_minutes"]``)."""
        value = (self.settings or {}).get("keyword_suggestions_quiet_minutes")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        return KEYWORD_QUIET_MINUTES


# F6's default: no keyword suggestions within this many minutes of a help-center visit.
KEYWORD_QUIET_MINUTES = 15
MAX_QUIET_MINUTES = 24 * 60


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("workspace_id", "email"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    role: Mapped[str] = mapped_column(String(16), default="agent")  # admin | agent
    availability: Mapped[str] = mapped_column(String(16), default="away")  # online | away
    capacity: Mapped[int] = mapped_column(Integer, default=10)
    # When a conversation was last given to this agent by round-robin (F18).
    last_assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    workspace: Mapped[Workspace] = relationship(lazy="joined")


class AgentSession(Base):
    """A logged-in browser. The cookie carries the id; the row can be revoked."""

    __tablename__ = "agent_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class AgentToken(Base):
    """Single-use invitation and password-reset tokens (only their hash is stored)."""

    __tablename__ = "agent_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # invite | reset
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    assignment: Mapped[str] = mapped_column(String(16), default="round_robin")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Customer(Base):
    """One person across visits and channels."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        UniqueConstraint("workspace_id", "visitor_token_hash"),
        Index("ix_customers_workspace_email", "workspace_id", "email"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)  # site's user_id
    visitor_token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_page_url: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_workspace_status", "workspace_id", "status", "last_message_at"),
        Index("ix_conversations_customer", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # chat | email | web_form | api
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None, index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None, index=True
    )
    in_triage: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str | None] = mapped_column(String(300), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    page_url: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    snoozed_until: Mapped[datetime | None] = mapped_column(default=None)
    # Where the bot's dialogue stands: {"awaiting_feedback": {...}, "misses": n, "handed_off"}
    bot_state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Agents' replies also go to the customer by email: email and web-form tickets, and a chat
    # that became a ticket because nobody was online (the waterfall, F22).
    reply_by_email: Mapped[bool] = mapped_column(Boolean, default=False)
    # The earliest running SLA deadline (F31), kept by the SLA clocks: the inbox sorts by it.
    sla_due_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_preview: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(lazy="joined")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        # The widget's client-generated id: a resend is recognised and stored once.
        UniqueConstraint("workspace_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    # customer | bot | agent | system
    author_type: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(BigID, default=None)
    # message (seen by the customer) | note (internal, agents only)
    kind: Mapped[str] = mapped_column(String(16), default="message")
    body: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(64), default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationEvent(Base):
    """Append-only history of everything that happened; metrics and workflows read it."""

    __tablename__ = "conversation_events"
    __table_args__ = (
        Index("ix_events_workspace_type", "workspace_id", "type", "id"),
        Index("ix_events_conversation", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), default=None
    )
    type: Mapped[str] = mapped_column(String(40))
    actor_type: Mapped[str] = mapped_column(String(16))  # customer | agent | bot | system | api
    actor_id: Mapped[int | None] = mapped_column(BigID, default=None)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))
    # Event types to send; empty means every type.
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event to send to one endpoint: the outbox row that the delivery job works through."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # sent as X-Frontdesk-Delivery
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(BigID, default=None)
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class KbCollection(Base):
    """A section of the help center (\"Billing\", \"Getting started\")."""

    __tablename__ = "kb_collections"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    # {"th": {"name": "...", "description": "..."}, ...}
    translations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbArticle(Base):
    """One language version of a help article. The versions of one article share ``key``; the
    original is the one with ``is_original``."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        UniqueConstraint("workspace_id", "key", "language"),
        Index("ix_kb_articles_workspace_status", "workspace_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8))
    is_original: Mapped[bool] = mapped_column(Boolean, default=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_collections.id", ondelete="SET NULL"), default=None
    )
    tags: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | published
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    collection: Mapped[KbCollection | None] = relationship(lazy="joined")


class KbExample(Base):
    """A question an article answers: written by an admin, or learned from a conversation an
    agent resolved by sending the article's link. The index embeds these like passages."""

    __tablename__ = "kb_examples"
    __table_args__ = (UniqueConstraint("workspace_id", "article_key", "text"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    article_key: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(String(1000))
    source: Mapped[str] = mapped_column(String(16), default="admin")  # admin | learned
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbNegativeExample(Base):
    """A question a person had to handle though the bot had its turn on it (it declined, or
    its answer did not help) and no guardrail had stopped it: the agent resolved the
    conversation without sending an article. The bot learns from these that such questions
    are not for it (a confidence feature, :mod:`frontdesk.knowledge.index`)."""

    __tablename__ = "kb_negative_examples"
    __table_args__ = (UniqueConstraint("workspace_id", "text"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(String(1000))
    # the article the bot had found best for it (None: nothing was found)
    article_key: Mapped[str | None] = mapped_column(String(128), default=None)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbArticleView(Base):
    """A visitor read an article in the help center (same identity as the widget)."""

    __tablename__ = "kb_article_views"
    __table_args__ = (Index("ix_kb_views_customer", "workspace_id", "customer_id", "viewed_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), default=None
    )
    article_key: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8))
    viewed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssignmentRule(Base):
    """An ordered routing rule (F15): when its conditions hold, its actions apply."""

    __tablename__ = "assignment_rules"
    __table_args__ = (Index("ix_rules_workspace_position", "workspace_id", "position"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    match: Mapped[str] = mapped_column(String(8), default="all")  # all | any
    # [{"field": "page_url", "op": "prefix", "value": "/developers/"}, ...]
    conditions: Mapped[list[Any]] = mapped_column(default=list)
    # {"team": "engineers", "agent": null, "priority": "high", "tags": ["api"]}
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RouterModel(Base):
    """A learned router (F16) trained on the workspace's past conversations. Plain JSON
    parameters (never pickled); the newest of a kind is the one in use."""

    __tablename__ = "router_models"
    __table_args__ = (Index("ix_router_models_workspace_kind", "workspace_id", "kind", "id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # team | priority | category
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    examples: Mapped[int] = mapped_column(Integer, default=0)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupportAddress(Base):
    """An email address a workspace receives support mail at (support@acme.example).

    Mail to any other address is refused at RCPT. Replies go out with a per-conversation
    reply-to (``local+c<id>.<sig>@domain``) that lands back in the conversation (F30)."""

    __tablename__ = "support_addresses"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    name: Mapped[str] = mapped_column(String(200), default="")  # display name in From:
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundMail(Base):
    """Every email the listener or the IMAP poller accepted, raw, stored before it is
    acknowledged: the mail log. Processing turns it into a message (``stored``), or records why
    not (``duplicate``, ``ignored`` for auto-replies and bounces, ``failed`` with the reason,
    which ``frontdesk mail reprocess`` can retry). Nothing accepted is ever lost."""

    __tablename__ = "inbound_mails"
    __table_args__ = (
        Index("ix_inbound_mails_status", "status", "received_at"),
        Index("ix_inbound_mails_message_id", "message_id_header"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), default=None, index=True
    )
    source: Mapped[str] = mapped_column(String(16), default="smtp")  # smtp | imap | api
    envelope_from: Mapped[str] = mapped_column(String(320), default="")
    envelope_to: Mapped[list[Any]] = mapped_column(default=list)
    message_id_header: Mapped[str | None] = mapped_column(String(998), default=None)
    subject: Mapped[str] = mapped_column(String(300), default="")  # decoded, for the lists
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer, default=0)
    # pending | stored | duplicate | ignored | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A worker processing the mail holds it until then; another may take it over only after
    # (a worker killed mid-way leaves it pending, and the sweep hands it on).
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


class OutboundEmail(Base):
    """One email to send (a reply, a survey, a follow-up): the outbox row the send job works
    through, with retries and backoff. ``message_id_header`` is fixed when the row is made, so
    a retry after a crash sends the same Message-ID and the recipient sees one email."""

    __tablename__ = "outbound_emails"
    __table_args__ = (
        Index("ix_outbound_emails_due", "status", "next_attempt_at"),
        Index("ix_outbound_emails_conversation", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), default=None
    )
    # the transcript message this email carries, if any (its delivery state shows beside it)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="reply")  # reply | survey | notice
    from_addr: Mapped[str] = mapped_column(String(400))
    to_addr: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))
    message_id_header: Mapped[str] = mapped_column(String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998), default=None)
    references: Mapped[list[Any]] = mapped_column(default=list)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text, default=None)
    # pending (sending, or retrying once attempts > 0) | sent | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class Attachment(Base):
    """A file that came with a message (email, web form). The bytes live under
    data_dir/attachments/ under a random name, never in a served folder; they are downloaded
    with Content-Disposition: attachment and nosniff, whatever their type."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), default=None, index=True
    )
    filename: Mapped[str] = mapped_column(String(255))  # normalised, for display only
    content_type: Mapped[str] = mapped_column(String(128))  # sniffed from the bytes
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)  # random file name
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # the workspace's total, for its quota, read from the index alone
    __table_args__ = (Index("ix_attachments_workspace_size", "workspace_id", "size"),)


class SlaPolicy(Base):
    """First-response and resolution targets (F31) for conversations of a priority and team
    (None: any). The first enabled policy by ``position`` that matches applies."""

    __tablename__ = "sla_policies"
    __table_args__ = (Index("ix_sla_policies_workspace_position", "workspace_id", "position"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[str | None] = mapped_column(String(16), default=None)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), default=None
    )
    first_response_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    business_hours: Mapped[bool] = mapped_column(Boolean, default=True)
    warn_at_percent: Mapped[int] = mapped_column(Integer, default=80)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaClock(Base):
    """One running SLA target of one conversation. ``due_at`` and ``warn_at`` are recomputed
    when the clock resumes after a pause (pending on the customer)."""

    __tablename__ = "sla_clocks"
    __table_args__ = (
        UniqueConstraint("conversation_id", "target"),
        Index("ix_sla_clocks_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL"), default=None
    )
    target: Mapped[str] = mapped_column(String(16))  # first_response | resolution
    budget_seconds: Mapped[int] = mapped_column(Integer)  # the target, in (business) seconds
    warn_percent: Mapped[int] = mapped_column(Integer, default=80)  # the policy's, when started
    business_hours: Mapped[bool] = mapped_column(Boolean, default=True)
    # (business) seconds used before the last pause
    used_seconds: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(
        String(16), default="running"
    )  # running|paused|met|breached
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    resumed_at: Mapped[datetime | None] = mapped_column(default=None)
    warn_at: Mapped[datetime | None] = mapped_column(default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    warned_at: Mapped[datetime | None] = mapped_column(default=None)
    breached_at: Mapped[datetime | None] = mapped_column(default=None)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)


class Macro(Base):
    """A canned reply with variables and actions (F26). Shared (``owner_id`` None) or personal."""

    __tablename__ = "macros"
    __table_args__ = (Index("ix_macros_workspace", "workspace_id", "name"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), default=None
    )
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="en")  # the language of ``body``
    # {"th": "...", "de": "..."}: picked by the customer's language
    variants: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {"tags": ["refund"], "status": "resolved", "team": "billing", "priority": "high"}
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The name, and the name with every body, casefolded without accents: the reply box
    # searches them as you type (kept by frontdesk.automation.macros)
    search_name: Mapped[str] = mapped_column(String(200), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Survey(Base):
    """A CSAT survey (F32) sent after one resolution, with who resolved it. Answered once, by
    the widget or by a signed single-use link in an email."""

    __tablename__ = "surveys"
    __table_args__ = (
        Index("ix_surveys_workspace_answered", "workspace_id", "answered_at"),
        # "did this customer answer a survey in the last N days?", asked at every resolution
        Index("ix_surveys_customer_answered", "customer_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8), default="csat")
    channel: Mapped[str] = mapped_column(String(16))  # widget | email
    resolved_by: Mapped[str] = mapped_column(String(8))  # bot | agent
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None
    )
    # the status_changed event of the resolution: one survey per resolution
    resolution_event_id: Mapped[int | None] = mapped_column(BigID, default=None, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="sent")  # sent | answered | expired
    rating: Mapped[int | None] = mapped_column(Integer, default=None)  # 1..5
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    # the conversation's last seq when it was sent: the widget shows its card after that message
    after_seq: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
