"""Learned routing (F16): team, priority and category from the workspace's past conversations.

Training (:func:`train_router`, nightly by :mod:`frontdesk.routing.jobs` or ``frontdesk router
train``) reads the conversations people handled — resolved or closed with a team, or put on a
team by an agent or an API client — and learns from each its **final** team (after any
reassignment), its priority and, when it has tags, its category (the first tag). The features
are the shipped sentence embeddings (:func:`frontdesk.routing.features.embed`: e5 and USE,
concatenated) of the customer's first message(s); the priority model also reads a few customer
and text signals (VIP, at risk, shouting, …). The team model also learns from the published
knowledge-base articles whose team is known (the team of the conversations they resolved), as
weak examples that are never scored. Each is a logistic regression
(:mod:`frontdesk.routing.classifier`) whose regularisation and softmax temperature are chosen
by 5-fold cross-validation, so its confidence is calibrated; the cross-validated figures are
stored with it. One :class:`~frontdesk.store.models.RouterModel` row per kind, plain JSON.

Prediction (:func:`predict_route`, called by the routing step) embeds the message once and
applies the newest model of each kind. A team prediction below the model's threshold is not
``confident``: the conversation goes to triage. The confidence is the calibrated probability,
scaled down for a message farther from every class centroid than the training messages come
(:func:`familiarity_factor`: a linear model is as sure of gibberish as of a typical message).
The threshold is the decision rule for a
calibrated probability when a wrong team costs as much as a triage hop saves
(:data:`ROUTE_THRESHOLD`): route when the team is more likely right than wrong.

The models are cached per process and reloaded when a newer row exists (one cheap query).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from frontdesk.knowledge.embedders import Embedder
from frontdesk.routing.classifier import (
    LinearModel,
    Matrix,
    cross_validate,
    fit_linear,
    rounded,
)
from frontdesk.routing.features import SIGNALS, embed, routing_text, signal_features
from frontdesk.store.database import Database
from frontdesk.store.models import (
    Conversation,
    ConversationEvent,
    Customer,
    KbArticle,
    KbExample,
    Message,
    RouterModel,
    Team,
    utcnow,
)

__all__ = [
    "KINDS",
    "MIN_CONVERSATIONS",
    "ROUTE_THRESHOLD",
    "Example",
    "RoutePrediction",
    "TrainReport",
    "familiarity_factor",
    "familiarity_params",
    "fit_router",
    "history",
    "kb_text",
    "kb_weak_examples",
    "load_models",
    "predict_route",
    "retrain",
    "train_router",
]

log = logging.getLogger(__name__)

KINDS = ("team", "priority", "category")
MIN_CONVERSATIONS = 10
MIN_PER_KIND = 10
MAX_CONVERSATIONS = 5_000  # the newest; bounds the nightly embedding time
ROUTE_THRESHOLD = 0.5
# which features each kind reads: the embeddings always, the signals for priority
KIND_FEATURES: dict[str, tuple[str, ...]] = {
    "team": ("embeddings",),
    "priority": ("embeddings", "signals"),
    "category": ("embeddings",),
}
DONE_STATUSES = ("resolved", "closed")
HANDLED_BY = ("agent", "api")
TEAM_EVENTS = ("team_changed", "reassigned")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RoutePrediction:
    team_id: int | None
    team_confidence: float
    priority: str | None
    priority_confidence: float
    category: str | None
    threshold: float
    confident: bool


@dataclass(frozen=True)
class Example:
    """One past conversation, as the router learns from it."""

    text: str
    channel: str | None
    attributes: dict[str, Any]
    team: str | None  # str(team_id)
    priority: str | None
    category: str | None
    language: str | None = None


@dataclass
class TrainReport:
    workspace_id: int
    conversations: int = 0
    trained: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> metrics
    skipped: dict[str, str] = field(default_factory=dict)  # kind -> why
    model_ids: dict[str, int] = field(default_factory=dict)
    articles: int = 0  # knowledge-base articles used as weak team examples
    seconds: float = 0.0
    message: str = ""

    @property
    def ok(self) -> bool:
        return "team" in self.trained


# ----- history ------------------------------------------------------------------------------


def history(
    session: Session, workspace_id: int, *, limit: int = MAX_CONVERSATIONS
) -> list[Example]:
    """The handled conversations of the workspace, newest first, with a customer text."""
    team_ids = {
        t for (t,) in session.execute(select(Team.id).where(Team.workspace_id == workspace_id))
    }
    handled = (
        select(ConversationEvent.conversation_id)
        .where(
            ConversationEvent.workspace_id == workspace_id,
            ConversationEvent.type.in_(TEAM_EVENTS),
            ConversationEvent.actor_type.in_(HANDLED_BY),
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(Conversation, Customer.attributes)
        .join(Customer, Customer.id == Conversation.customer_id)
        .where(
            Conversation.workspace_id == workspace_id,
            or_(
                Conversation.status.in_(DONE_STATUSES),
                Conversation.id.in_(handled),
            ),
        )
        .order_by(Conversation.id.desc())
        .limit(limit)
    ).all()
    if not rows:
        return []
    ids = [c.id for c, _ in rows]
    texts: dict[int, list[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for conversation_id, body in session.execute(
            select(Message.conversation_id, Message.body)
            .where(
                Message.conversation_id.in_(chunk),
                Message.author_type == "customer",
                Message.kind == "message",
            )
            .order_by(Message.conversation_id, Message.seq)
        ):
            bodies = texts.setdefault(conversation_id, [])
            if len(bodies) < 3:
                bodies.append(body)
    examples = []
    for conversation, attributes in rows:
        text = routing_text(texts.get(conversation.id, []), conversation.subject)
        if not text.strip():
            continue
        team = conversation.team_id if conversation.team_id in team_ids else None
        tags = [t for t in (conversation.tags or []) if isinstance(t, str) and t]
        examples.append(
            Example(
                text=text,
                channel=conversation.channel,
                attributes=dict(attributes or {}),
                team=str(team) if team is not None else None,
                priority=conversation.priority,
                category=tags[0] if tags else None,
                language=conversation.language,
            )
        )
    return examples


def kb_text(title: str, body: str, limit: int = 300) -> str:
    """An article as a weak example: its title and the start of its first paragraph."""
    paragraphs = [
        p.strip() for p in body.split("\n\n") if p.strip() and not p.lstrip().startswith("#")
    ]
    first = paragraphs[0] if paragraphs else ""
    return f"{title}\n{first[:limit]}".strip()


def kb_weak_examples(session: Session, workspace_id: int) -> list[Example]:
    """The published articles whose team is known, as weak team examples.

    An article's team is the final team most of the conversations it resolved ended on (the
    example questions the knowledge base learned from an agent's reply with the article's
    link point to those conversations). Measured on Helios: +1.7 points of team accuracy.
    """
    votes: dict[str, dict[int, int]] = {}
    for key, team_id in session.execute(
        select(KbExample.article_key, Conversation.team_id)
        .join(Conversation, Conversation.id == KbExample.conversation_id)
        .where(KbExample.workspace_id == workspace_id, Conversation.team_id.is_not(None))
    ):
        if team_id is not None:
            team_votes = votes.setdefault(key, {})
            team_votes[team_id] = team_votes.get(team_id, 0) + 1
    if not votes:
        return []
    articles = session.scalars(
        select(KbArticle).where(
            KbArticle.workspace_id == workspace_id,
            KbArticle.status == "published",
            KbArticle.key.in_(list(votes)),
        )
    ).all()
    examples = []
    for article in articles:
        team_votes = votes[article.key]
        team = max(sorted(team_votes), key=team_votes.__getitem__)
        examples.append(
            Example(
                kb_text(article.title, article.body),
                None,
                {},
                str(team),
                None,
                None,
                article.language,
            )
        )
    return examples


# ----- training -----------------------------------------------------------------------------


def _features(spec: Sequence[str], vectors: Matrix, signals: Matrix) -> tuple[Matrix, slice | None]:
    if "signals" in spec:
        return np.hstack([vectors, signals]), slice(vectors.shape[1], None)
    return vectors, None


def _label(example: Example, kind: str) -> str | None:
    value: str | None = getattr(example, kind)
    return value


def fit_router(
    examples: Sequence[Example],
    embedders: Sequence[Embedder],
    *,
    vectors: Matrix | None = None,
    progress: Progress | None = None,
    kinds: Sequence[str] = KINDS,
    folds: int = 5,
    kind_features: dict[str, tuple[str, ...]] | None = None,
    weak: Sequence[Example] = (),
    weak_vectors: Matrix | None = None,
) -> tuple[dict[str, LinearModel], dict[str, str]]:
    """Train each kind that has enough labelled examples; return the models and why others
    were skipped. ``vectors`` may be given (the benchmark caches them). ``weak`` examples
    (knowledge-base articles labelled with the team that handles them) are added to the
    training side of the team model only, never scored."""
    if vectors is None:
        vectors = _embed_all(embedders, [e.text for e in examples], progress)
    weak = [w for w in weak if w.team is not None]
    if weak and weak_vectors is None:
        weak_vectors = embed(embedders, [w.text for w in weak])
    signals = np.array(
        [signal_features(e.text, e.channel, e.attributes) for e in examples], dtype=np.float64
    ).reshape(len(examples), len(SIGNALS))
    models: dict[str, LinearModel] = {}
    skipped: dict[str, str] = {}
    for kind in kinds:
        rows = [i for i, e in enumerate(examples) if _label(e, kind) is not None]
        labels = [str(_label(examples[i], kind)) for i in rows]
        distinct = sorted(set(labels))
        if len(rows) < MIN_PER_KIND or len(distinct) < 2:
            skipped[kind] = (
                f"{len(rows)} conversations with a {kind}, {len(distinct)} distinct: "
                f"needs at least {MIN_PER_KIND} and 2"
            )
            continue
        spec = (kind_features or KIND_FEATURES)[kind]
        features, standardise = _features(spec, vectors[rows], signals[rows])
        groups = [" ".join(examples[i].text.lower().split()) for i in rows]
        done = [0]
        total = 3 * max(2, min(folds, len(rows)))

        def fitted(kind: str = kind, total: int = total, done: list[int] = done) -> None:
            done[0] += 1
            if progress is not None:
                progress(f"Cross-validating {kind}", done[0], total)

        extra = None
        if kind == "team" and weak and weak_vectors is not None:
            weak_signals = np.array(
                [signal_features(w.text, w.channel, w.attributes) for w in weak]
            ).reshape(len(weak), len(SIGNALS))
            weak_features, _ = _features(spec, weak_vectors, weak_signals)
            extra = (weak_features, [str(w.team) for w in weak])
        cv = cross_validate(
            features,
            labels,
            groups=groups,
            folds=folds,
            standardise=standardise,
            on_fit=fitted,
            extra=extra,
        )
        all_features = features if extra is None else np.vstack([features, extra[0]])
        all_labels = labels if extra is None else [*labels, *extra[1]]
        model = fit_linear(all_features, all_labels, c=cv.c, standardise=standardise)
        model.temperature = cv.temperature
        model.threshold = ROUTE_THRESHOLD
        metrics = cv.metrics(labels, ROUTE_THRESHOLD)
        metrics["examples"] = len(rows)
        metrics["class_counts"] = {c: labels.count(c) for c in distinct}
        model.extra = {
            "kind": kind,
            "familiarity": familiarity_params(vectors[rows], labels),
            "features": list(spec),
            "signals": list(SIGNALS) if "signals" in spec else [],
            "embedders": [{"name": e.name, "dim": e.dim} for e in embedders],
            "c": cv.c,
            "metrics": metrics,
        }
        models[kind] = model
    return models, skipped


def _unit(matrix: Matrix) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    result: Matrix = matrix / np.where(norms == 0, 1.0, norms)
    return result


def familiarity_params(vectors: Matrix, labels: Sequence[str]) -> dict[str, Any]:
    """Class centroids of the embeddings and how close training messages come to them.

    A linear model is as sure of a message unlike anything it was trained on as of a typical
    one. The familiarity of a message is its best cosine similarity to a class centroid; for
    the training messages it is computed leaving each one out of its own centroid. Below
    ``high`` (their 5th percentile) the confidence is scaled down linearly, to 0 at ``low``.
    """
    classes = sorted(set(labels))
    y = np.array(labels)
    units = _unit(vectors)
    sums = np.stack([units[y == c].sum(axis=0) for c in classes])
    counts = np.array([(y == c).sum() for c in classes], dtype=np.float64)
    centroids = _unit(sums / counts[:, None])
    similarity = units @ centroids.T
    own = np.array([classes.index(label) for label in labels])
    for i, c in enumerate(own):  # leave-one-out for the message's own class
        if counts[c] > 1:
            loo = (sums[c] - units[i]) / (counts[c] - 1)
            similarity[i, c] = float(_unit(loo[None, :])[0] @ units[i])
        else:
            similarity[i, c] = -1.0
    best = similarity.max(axis=1)
    high = float(np.quantile(best, 0.05))
    low = high - 2.0 * max(float(np.median(best)) - high, 0.02)
    return {"classes": classes, "centroids": rounded(centroids), "low": low, "high": high}


def familiarity_factor(params: dict[str, Any] | None, vectors: Matrix) -> Matrix:
    """Per message, in [0, 1]: 1 within the training messages' range, less beyond it."""
    if not params:
        return np.ones(len(vectors))
    centroids = np.asarray(params["centroids"], dtype=np.float64)
    if centroids.ndim != 2 or centroids.shape[1] != vectors.shape[1]:
        return np.ones(len(vectors))
    best = (_unit(vectors) @ centroids.T).max(axis=1)
    low, high = float(params["low"]), float(params["high"])
    factor: Matrix = np.clip((best - low) / max(high - low, 1e-6), 0.0, 1.0)
    return factor


def _embed_all(
    embedders: Sequence[Embedder], texts: Sequence[str], progress: Progress | None
) -> Matrix:
    batch = 32
    parts = []
    for start in range(0, len(texts), batch):
        parts.append(embed(embedders, texts[start : start + batch]))
        if progress is not None:
            progress("Embedding past conversations", min(start + batch, len(texts)), len(texts))
    dim = sum(e.dim for e in embedders)
    return np.vstack(parts) if parts else np.zeros((0, dim))


def _runtime_embedders(session: Session) -> list[Embedder]:
    runtime = session.info.get("runtime")
    if runtime is None:
        from frontdesk.runtime import current

        runtime = current()
    return list(runtime.knowledge.embedders)


def _read_training_data(
    session: Session, workspace_id: int, report: TrainReport
) -> tuple[list[Example], list[Example]] | None:
    """The history and the weak examples; None (and ``report.message``) if too little."""
    examples = history(session, workspace_id)
    report.conversations = len(examples)
    teams = {e.team for e in examples if e.team is not None}
    if len(examples) < MIN_CONVERSATIONS or len(teams) < 2:
        report.message = (
            f"{len(examples)} handled conversations on {len(teams)} teams: the router needs at "
            f"least {MIN_CONVERSATIONS} conversations on 2 teams; no model was trained."
        )
        return None
    team_ids = {
        t for (t,) in session.execute(select(Team.id).where(Team.workspace_id == workspace_id))
    }
    weak = [
        w
        for w in kb_weak_examples(session, workspace_id)
        if w.team is not None and int(w.team) in team_ids
    ]
    report.articles = len(weak)
    return examples, weak


def _store_models(
    session: Session, workspace_id: int, models: dict[str, LinearModel], report: TrainReport
) -> None:
    trained_at = utcnow()
    for kind, model in models.items():
        metrics = dict(model.extra["metrics"])
        row = RouterModel(
            workspace_id=workspace_id,
            kind=kind,
            params=model.to_json(),
            metrics=metrics,
            examples=int(metrics["examples"]),
            trained_at=trained_at,
        )
        session.add(row)
        session.flush()
        report.trained[kind] = metrics
        report.model_ids[kind] = row.id
    log.info(
        "router of workspace %s trained on %d conversations: %s",
        workspace_id,
        report.conversations,
        {k: round(m["accuracy"], 3) for k, m in report.trained.items()},
    )


def train_router(
    session: Session,
    workspace_id: int,
    *,
    embedders: Sequence[Embedder] | None = None,
    progress: Progress | None = None,
) -> TrainReport:
    """Read the history, train every kind it has enough data for, store one RouterModel row
    per trained kind (the session's transaction commits them). Too little data: a report with
    a ``message`` and no model. Holds the session for the whole training: outside tests,
    prefer :func:`retrain`, which writes only at the end."""
    started = time.perf_counter()
    report = TrainReport(workspace_id)
    data = _read_training_data(session, workspace_id, report)
    if data is not None:
        examples, weak = data
        models, report.skipped = fit_router(
            examples,
            embedders if embedders is not None else _runtime_embedders(session),
            progress=progress,
            weak=weak,
        )
        _store_models(session, workspace_id, models, report)
    report.seconds = time.perf_counter() - started
    return report


def retrain(
    db: Database,
    workspace_id: int,
    *,
    embedders: Sequence[Embedder] | None = None,
    progress: Progress | None = None,
) -> TrainReport:
    """:func:`train_router` in three steps: read (a read session), embed and fit (no session:
    on SQLite a write transaction would block every other writer for minutes), then store the
    rows in a short write transaction."""
    started = time.perf_counter()
    report = TrainReport(workspace_id)
    with db.read() as session:
        data = _read_training_data(session, workspace_id, report)
        if embedders is None:
            embedders = _runtime_embedders(session)
    if data is not None:
        examples, weak = data
        models, report.skipped = fit_router(examples, embedders, progress=progress, weak=weak)
        with db.write() as session:
            _store_models(session, workspace_id, models, report)
    report.seconds = time.perf_counter() - started
    return report


# ----- prediction ---------------------------------------------------------------------------


@dataclass
class _Loaded:
    ids: dict[str, int]
    models: dict[str, LinearModel]


_cache: dict[int, _Loaded] = {}
_cache_lock = threading.Lock()


def _newest_ids(session: Session, workspace_id: int) -> dict[str, int]:
    return {
        kind: int(model_id)
        for kind, model_id in session.execute(
            select(RouterModel.kind, func.max(RouterModel.id))
            .where(RouterModel.workspace_id == workspace_id)
            .group_by(RouterModel.kind)
        )
    }


def load_models(session: Session, workspace_id: int) -> dict[str, LinearModel]:
    """The newest model of each kind, from the process cache unless a newer row exists."""
    ids = _newest_ids(session, workspace_id)
    cached = _cache.get(workspace_id)
    if cached is not None and cached.ids == ids:
        return cached.models
    models: dict[str, LinearModel] = {}
    for kind, model_id in ids.items():
        row = session.get(RouterModel, model_id)
        if row is None:
            continue
        try:
            models[kind] = LinearModel.from_json(row.params)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("router model %s (%s) cannot be read: %s", model_id, kind, exc)
    with _cache_lock:
        _cache[workspace_id] = _Loaded(ids, models)
    return models


def _matches(model: LinearModel, embedders: Sequence[Embedder]) -> bool:
    wanted = [(e.get("name"), e.get("dim")) for e in model.extra.get("embedders", [])]
    return wanted == [(e.name, e.dim) for e in embedders]


def predict_route(
    session: Session,
    workspace_id: int,
    conversation: Conversation,
    message_text: str,
    language: str | None,
    *,
    embedders: Sequence[Embedder] | None = None,
) -> RoutePrediction | None:
    """Team (with a calibrated confidence), priority and category for this message; None when
    the workspace has no trained router (or it was trained on other embedding models)."""
    models = load_models(session, workspace_id)
    if not models:
        return None
    embedders = list(embedders) if embedders is not None else _runtime_embedders(session)
    usable = {k: m for k, m in models.items() if _matches(m, embedders)}
    if not usable:
        log.warning("router of workspace %s was trained on other embedders", workspace_id)
        return None
    text = routing_text([message_text], conversation.subject)
    vectors = embed(embedders, [text or message_text or " "])
    customer = conversation.customer
    signals = np.array(
        [signal_features(text, conversation.channel, dict(customer.attributes or {}))]
        if customer is not None
        else [signal_features(text, conversation.channel, {})],
        dtype=np.float64,
    )

    def best(kind: str) -> tuple[str | None, float, LinearModel | None]:
        model = usable.get(kind)
        if model is None:
            return None, 0.0, None
        features, _ = _features(model.extra.get("features", ["embeddings"]), vectors, signals)
        if features.shape[1] != model.dim:
            return None, 0.0, None
        probs = model.predict_proba(features)[0]
        top = int(probs.argmax())
        factor = float(familiarity_factor(model.extra.get("familiarity"), vectors)[0])
        return model.classes[top], float(probs[top]) * factor, model

    team, team_confidence, team_model = best("team")
    team_id: int | None = None
    if team is not None:
        row = session.get(Team, int(team))
        team_id = row.id if row is not None and row.workspace_id == workspace_id else None
    threshold = team_model.threshold if team_model is not None else ROUTE_THRESHOLD
    priority, priority_confidence, _ = best("priority")
    category, _, _ = best("category")
    return RoutePrediction(
        team_id=team_id,
        team_confidence=team_confidence if team_id is not None else 0.0,
        priority=priority,
        priority_confidence=priority_confidence,
        category=category,
        threshold=threshold,
        confident=team_id is not None and team_confidence >= threshold,
    )


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
