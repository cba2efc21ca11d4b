"""Settings, read once from the environment (prefix ``FRONTDESK_``) or a ``.env`` file.

Every setting is documented here, and docs/configuration.md lists them; a test checks that the
two agree.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("frontdesk-data"),
        description="Folder for the SQLite database, the job queue file and uploads.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty: a SQLite file in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname.",
    )
    redis_url: str = Field(
        default="",
        description="Redis URL. Set it to run several API processes and separate workers: "
        "live updates, rate limits and the job queue then go through Redis.",
    )
    redis_prefix: str = Field(
        default="frontdesk",
        description="Prefix of every Redis key and pub/sub channel, to share one Redis.",
    )
    secret_key: str = Field(
        default="",
        description="Signs session cookies. Empty: a random key is generated once and kept in "
        "data_dir/secret_key. Set the same value on every API process.",
    )
    base_url: str = Field(
        default="",
        description="Public URL of this server (https://support.example.com), used in links "
        "and the widget snippet. Empty: taken from each request.",
    )
    secure_cookies: bool = Field(
        default=False,
        description="Mark session cookies Secure (only over HTTPS). Turn on in production.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="IP addresses of reverse proxies whose X-Forwarded-For is believed. "
        "Empty: the connecting address is the client address.",
    )
    session_days: int = Field(default=14, ge=1, description="How long an agent stays logged in.")
    max_message_chars: int = Field(
        default=10_000, ge=1, description="Longest message text accepted from any channel."
    )
    max_body_bytes: int = Field(
        default=1_000_000, ge=1, description="Largest JSON request body accepted by the API."
    )
    rate_login_per_minute: int = Field(
        default=10,
        ge=1,
        description="Login and password-reset attempts per IP and per email a minute.",
    )
    rate_widget_per_minute: int = Field(
        default=60, ge=1, description="Widget requests and messages per visitor a minute."
    )
    rate_widget_ip_per_minute: int = Field(
        default=300, ge=1, description="Widget requests and messages per IP address a minute."
    )
    rate_widget_sessions_per_hour: int = Field(
        default=1000,
        ge=1,
        description="New anonymous widget visitors per IP address an hour. The widget opens its "
        "session when the page loads (help-center pages need the visitor then, to record which "
        "articles they read), so every fresh browser or private window counts: a whole office "
        "or school behind one NAT address shares this. It only caps scripts that mint visitors.",
    )
    rate_widget_email_per_hour: int = Field(
        default=5,
        ge=1,
        description="Email addresses a chat visitor may leave an hour (the waterfall's 'we will "
        "reply by email'): each one sends a confirmation email.",
    )
    rate_form_per_hour: int = Field(
        default=10,
        ge=1,
        description="Web-form tickets (/form/SLUG) one IP address may send an hour; more get a "
        "429 page.",
    )
    attachment_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1,
        description="Largest attachment kept (email or web form), in bytes. A larger web-form "
        "file is refused with a clear message; a larger email attachment is dropped and listed "
        "with the message.",
    )
    attachment_quota_bytes: int = Field(
        default=5 * 1024 * 1024 * 1024,
        ge=0,
        description="Total attachment bytes one workspace may keep (0: no limit). Past it a new "
        "file is refused with a clear message: an email's are dropped and listed with the "
        "message, a web form's ticket is created without it and the sender is told.",
    )
    job_workers: int = Field(
        default=2, ge=1, description="Worker threads of the in-process job consumer (no Redis)."
    )
    run_jobs_in_process: bool = Field(
        default=True,
        description="Run the job consumer inside `frontdesk serve`. Turn off when separate "
        "`frontdesk worker` processes run the jobs.",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Allow webhook URLs that resolve to loopback or private addresses "
        "(for tests and local development only).",
    )
    webhook_max_attempts: int = Field(
        default=8, description="Attempts before a webhook delivery goes to the dead-letter list."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, description="How long a webhook receiver may take to answer one delivery."
    )
    webhook_retry_base_seconds: float = Field(
        default=10.0,
        description="Wait before the first webhook retry; it doubles on each further attempt "
        "(with jitter), up to one hour.",
    )
    smtp_url: str = Field(
        default="",
        description="Outbound mail relay, smtp://user:pass@host:port. Empty: emails (password "
        "resets, invitations) are written to the server log instead.",
    )
    mail_from: str = Field(
        default="Frontdesk <frontdesk@localhost>", description="From address of system emails."
    )
    mail_max_attempts: int = Field(
        default=10,
        description="Attempts to hand an email to the relay before it is marked failed in the "
        "conversation (the agent sees sending, retrying, failed).",
    )
    mail_retry_base_seconds: float = Field(
        default=30.0,
        description="Wait before the first retry of an email the relay did not take; it doubles "
        "on each further attempt (with jitter), up to one hour.",
    )
    mail_timeout_seconds: float = Field(
        default=30.0, description="How long one SMTP conversation with the relay may take."
    )
    mail_max_bytes: int = Field(
        default=25 * 1024 * 1024,
        description="Largest inbound email (bytes, as sent) the SMTP listener and the IMAP "
        "poller accept; a larger one is refused at the SMTP DATA step with 552.",
    )
    mail_process_max_attempts: int = Field(
        default=5,
        description="Times an inbound email is taken up for processing before it is marked "
        "failed (a worker that stopped mid-way each time); `frontdesk mail reprocess` resets it.",
    )
    imap_url: str = Field(
        default="",
        description="A mailbox to poll for inbound email, imap://user:pass@host:port/INBOX or "
        "imaps://... Empty: no polling (the SMTP listener, `serve --smtp-port`, is the other way "
        "in).",
    )
    imap_poll_seconds: int = Field(
        default=60,
        ge=5,
        description="How often the IMAP mailbox is polled, in seconds (when imap_url is set).",
    )
    csat_enabled: bool = Field(
        default=True,
        description="Ask the customer for a 1-5 rating after each resolution (by the bot or a "
        "person): a card in the chat widget, or an email with one-click links.",
    )
    csat_cooldown_days: int = Field(
        default=7,
        ge=0,
        description="No new survey for a customer who answered one in the last this many days.",
    )
    csat_reresolve_minutes: int = Field(
        default=60,
        ge=0,
        description="A conversation resolved again within this many minutes of its last survey "
        "(reopened and resolved again) gets no new one.",
    )
    csat_link_days: int = Field(
        default=30,
        ge=1,
        description="How long a survey can be answered: its email links and its card in the "
        "widget expire after this many days.",
    )
    knowledge_models: str = Field(
        default="e5,use",
        description="Sentence embedders of the knowledge-base search, comma-separated: e5 "
        "(multilingual-e5-small) and use (USE multilingual). hashing: fast fake embedders with "
        "no model, for tests and development only (search quality is meaningless).",
    )
    log_level: str = Field(default="INFO", description="Python logging level.")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'frontdesk.db').resolve()}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        import secrets

        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


class InvalidSettings(ValueError):
    """A setting in the environment or ``.env`` has a value it cannot take."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once; a bad value raises :class:`InvalidSettings` naming the
    variable, the value and what it should be (one line each), not a traceback."""
    try:
        return Settings()
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = "FRONTDESK_" + "_".join(str(part) for part in problem["loc"]).upper()
            lines.append(f"{name}={problem.get('input')!r}: {problem['msg']}")
        raise InvalidSettings("invalid settings:\n  " + "\n  ".join(lines)) from None
