"""Learned routing (F16): team, priority and category from the workspace's past conversations.

Training (:func:`train_router`, nightly by :mod:`frontdesk.routing.jobs` or ``frontdesk router
train``) reads the conversations people handled — resolved or closed with a team, or put on a
team by an agent or an API client — and learns from each its **final** team (after any
reassignment), its priority and, when it has tags, its category (the first tag). The features
are the shipped sentence embeddings (:func:`frontdesk.routing.features.embed`: e5 and USE,
concatenated) of the customer's first message(s); the priority model also reads a few customer
and text signals (VIP, at risk, shouting, …). The team model also learns from the published
knowledge-base articles whose team is known (the team of the conversations they resolved) and
from the teams' descriptions (the whole and each comma-separated phrase,
:func:`description_examples`), as weak examples that are never scored. Each is a logistic
regression (:mod:`frontdesk.routing.classifier`) whose regularisation and softmax temperature
are chosen by 5-fold cross-validation, so its confidence is calibrated; the team model's
embedding columns are standardised (the two models' scales differ) and its threshold is chosen
on the same out-of-fold predictions (:func:`~frontdesk.routing.classifier.choose_threshold`:
the best routed accuracy, triage being right for a message labelled with the triage team).
For Greek, which USE reads badly, the team model carries a second model on the e5 columns
alone (:data:`WEAK_EMBEDDERS`, ``extra["by_language"]``). The cross-validated figures are
stored with it. One :class:`~frontdesk.store.models.RouterModel` row per kind, plain JSON.

Prediction (:func:`predict_route`, called by the routing step) embeds the message once and
applies the newest model of each kind. A team prediction below the model's threshold is not
``confident``: the conversation goes to triage. The confidence is the calibrated probability,
scaled down for a message farther from every class centroid than the training messages come
(:func:`familiarity_factor`: a linear model is as sure of gibberish as of a typical message).
The threshold is the cross-validated one; among equally good thresholds the one nearest
:data:`ROUTE_THRESHOLD` (route when the team is more likely right than wrong) wins.

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
from numpy.typing import NDArray
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from frontdesk.knowledge.embedders import Embedder
from frontdesk.routing.classifier import (
    LinearModel,
    Matrix,
    choose_threshold,
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
    "description_examples",
    "description_texts",
    "familiarity_factor",
    "familiarity_params",
    "fit_router",
    "history",
    "kb_text",
    "kb_weak_examples",
    "load_models",
    "predict_route",
    "retrain",
    "team_decision",
    "train_router",
    "triage_teams",
]

log = logging.getLogger(__name__)

KINDS = ("team", "priority", "category")
MIN_CONVERSATIONS = 10
MIN_PER_KIND = 10
MAX_CONVERSATIONS = 5_000  # the newest; bounds the nightly embedding time
ROUTE_THRESHOLD = 0.5  # before cross-validation chooses one (and for kinds other than team)
# kinds whose embedding columns are standardised (the signals always are): measured on the team
STANDARDISED_KINDS = ("team",)
# languages an embedder reads badly (MODELS.md: USE on Greek): the team model has a second
# model without it for them
WEAK_EMBEDDERS: dict[str, tuple[str, ...]] = {"el": ("use",)}
# which features each kind reads: the embeddings always, the signals for priority
KIND_FEATURES: dict[str, tuple[str, ...]] = {
    "team": ("embeddings",),
    "priority": ("embeddings", "signals"),
    "category": ("embeddings",),
}
# the weight of a team description (and of each of its phrases) as a weak example
DESCRIPTION_WEIGHT = 1.0
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
    weight: float = 1.0  # in the loss; weak examples only


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


def description_texts(description: str) -> list[str]:
    """A team's description and each of its comma-separated phrases ("Invoices, payments,
    refunds." -> the whole, "Invoices", "payments", "refunds")."""
    whole = " ".join(description.split())
    if not whole:
        return []
    phrases = [p.strip(" .;:") for p in whole.replace(";", ",").split(",")]
    return [whole, *(p for p in phrases if p and p != whole.strip(" .;:"))]


def description_examples(teams: Sequence[tuple[str, str]]) -> list[Example]:
    """The teams' descriptions (``(team, description)``) as weak team examples: a workspace
    says what each team handles before any conversation does."""
    return [
        Example(text, None, {}, team, None, None, None, DESCRIPTION_WEIGHT)
        for team, description in teams
        for text in description_texts(description)
    ]


def triage_teams(session: Session, workspace_id: int) -> list[str]:
    """The teams named or slugged "triage" (str(id)): sending to triage is right for them."""
    return [
        str(team_id)
        for team_id, slug, name in session.execute(
            select(Team.id, Team.slug, Team.name).where(Team.workspace_id == workspace_id)
        )
        if "triage" in (slug.strip().lower(), name.strip().lower())
    ]


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
    triage_labels: Sequence[str] = (),
) -> tuple[dict[str, LinearModel], dict[str, str]]:
    """Train each kind that has enough labelled examples; return the models and why others
    were skipped. ``vectors`` may be given (the benchmark caches them). ``weak`` examples
    (knowledge-base articles labelled with the team that handles them, the teams'
    descriptions) are added to the training side of the team model only, never scored, each
    weighed by its ``weight``. ``triage_labels`` (the triage team) are the labels for which
    sending to triage is right, for choosing the team model's threshold."""
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
        extra_weights = None
        if kind == "team" and weak and weak_vectors is not None:
            weak_signals = np.array(
                [signal_features(w.text, w.channel, w.attributes) for w in weak]
            ).reshape(len(weak), len(SIGNALS))
            weak_features, _ = _features(spec, weak_vectors, weak_signals)
            extra = (weak_features, [str(w.team) for w in weak])
            extra_weights = [w.weight for w in weak]
        if kind in STANDARDISED_KINDS:
            standardise = slice(0, None)  # every column: the two models' scales differ
        model, metrics = _fit_kind(
            features,
            labels,
            groups,
            folds=folds,
            standardise=standardise,
            on_fit=fitted,
            extra=extra,
            extra_weights=extra_weights,
            familiarity=vectors[rows] if kind == "team" else None,
            triage_labels=triage_labels,
        )
        metrics["examples"] = len(rows)
        metrics["class_counts"] = {c: labels.count(c) for c in distinct}
        model.extra = {
            "kind": kind,
            "familiarity": familiarity_params(vectors[rows], labels),
            "features": list(spec),
            "signals": list(SIGNALS) if "signals" in spec else [],
            "embedders": [{"name": e.name, "dim": e.dim} for e in embedders],
            "c": model.extra["c"],
            "metrics": metrics,
        }
        if kind == "team" and spec == ("embeddings",):
            model.extra["by_language"] = _language_models(
                embedders,
                features,
                labels,
                groups,
                [examples[i].language for i in rows],
                folds=folds,
                extra=extra,
                extra_weights=extra_weights,
                triage_labels=triage_labels,
            )
        models[kind] = model
    return models, skipped


def _fit_kind(
    features: Matrix,
    labels: list[str],
    groups: list[str],
    *,
    folds: int,
    standardise: slice | None,
    on_fit: Callable[[], None] | None = None,
    extra: tuple[Matrix, list[str]] | None = None,
    extra_weights: list[float] | None = None,
    familiarity: Matrix | None = None,
    triage_labels: Sequence[str] = (),
) -> tuple[LinearModel, dict[str, Any]]:
    """Cross-validate C and the temperature, fit on everything; with ``familiarity`` (the
    embeddings: a team model) the threshold is chosen on the out-of-fold predictions."""
    cv = cross_validate(
        features,
        labels,
        groups=groups,
        folds=folds,
        standardise=standardise,
        on_fit=on_fit,
        extra=extra,
        extra_weights=extra_weights,
    )
    all_features = features if extra is None else np.vstack([features, extra[0]])
    all_labels = labels if extra is None else [*labels, *extra[1]]
    weights = (
        None if extra is None or extra_weights is None else [*([1.0] * len(labels)), *extra_weights]
    )
    model = fit_linear(
        all_features, all_labels, c=cv.c, standardise=standardise, sample_weight=weights
    )
    model.temperature = cv.temperature
    threshold = ROUTE_THRESHOLD
    if familiarity is not None:
        probs = cv.probabilities
        factor = familiarity_factor(familiarity_params(familiarity, labels), familiarity)
        threshold = choose_threshold(
            [cv.classes[i] for i in probs.argmax(axis=1)],
            (probs.max(axis=1) * factor).tolist(),
            labels,
            triage_labels=triage_labels,
        )
    model.threshold = threshold
    metrics = cv.metrics(labels, threshold)
    metrics["threshold"] = threshold
    return model, metrics


def _language_models(
    embedders: Sequence[Embedder],
    features: Matrix,
    labels: list[str],
    groups: list[str],
    languages: list[str | None],
    *,
    folds: int,
    extra: tuple[Matrix, list[str]] | None,
    extra_weights: list[float] | None,
    triage_labels: Sequence[str],
) -> dict[str, Any]:
    """For the languages an embedder reads badly (:data:`WEAK_EMBEDDERS`), a team model on the
    other embedders' columns alone: ``{language: {"embedders": [...], "model": json}}``."""
    result: dict[str, Any] = {}
    for language, weak_names in WEAK_EMBEDDERS.items():
        keep = [e for e in embedders if e.name not in weak_names]
        if len(keep) == len(embedders) or not keep:
            continue
        if language not in languages:
            continue
        columns = _columns(embedders, [e.name for e in keep])
        sub_extra = None if extra is None else (extra[0][:, columns], extra[1])
        model, metrics = _fit_kind(
            features[:, columns],
            labels,
            groups,
            folds=folds,
            standardise=slice(0, None),
            extra=sub_extra,
            extra_weights=extra_weights,
            familiarity=features[:, columns],
            triage_labels=triage_labels,
        )
        model.extra = {
            "familiarity": familiarity_params(features[:, columns], labels),
            "metrics": metrics,
        }
        result[language] = {"embedders": [e.name for e in keep], "model": model.to_json()}
    return result


def _columns(embedders: Sequence[Embedder], names: Sequence[str]) -> NDArray[np.int64]:
    """The feature columns of the named embedders in ``embed(embedders, …)``."""
    parts, start = [], 0
    for e in embedders:
        if e.name in names:
            parts.append(np.arange(start, start + e.dim))
        start += e.dim
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def team_decision(
    model: LinearModel,
    embedders: Sequence[Embedder],
    vectors: Matrix,
    languages: Sequence[str | None],
) -> tuple[list[str], Matrix, Matrix]:
    """Per message: the team model's top class, its confidence (calibrated probability times
    the familiarity factor) and the threshold that applies; a message in a language with a
    model of its own (``extra["by_language"]``) is read by that one."""
    probs = model.predict_proba(vectors)
    top = probs.argmax(axis=1)
    classes = [model.classes[i] for i in top]
    confidence = probs.max(axis=1) * familiarity_factor(model.extra.get("familiarity"), vectors)
    threshold = np.full(len(vectors), model.threshold)
    for language, entry in (model.extra.get("by_language") or {}).items():
        rows = [i for i, lang in enumerate(languages) if lang == language]
        names = list(entry.get("embedders", []))
        if not rows or not set(names) <= {e.name for e in embedders}:
            continue
        sub = LinearModel.from_json(entry["model"])
        x = vectors[np.ix_(np.asarray(rows, dtype=np.int64), _columns(embedders, names))]
        if x.shape[1] != sub.dim:
            continue
        sub_probs = sub.predict_proba(x)
        sub_conf = sub_probs.max(axis=1) * familiarity_factor(sub.extra.get("familiarity"), x)
        for j, i in enumerate(rows):
            classes[i] = sub.classes[int(sub_probs[j].argmax())]
            confidence[i] = sub_conf[j]
            threshold[i] = sub.threshold
    return classes, confidence, threshold


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
    described = [
        (str(team_id), description or "")
        for team_id, description in session.execute(
            select(Team.id, Team.description).where(Team.workspace_id == workspace_id)
        )
    ]
    weak += description_examples(described)
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
            triage_labels=triage_teams(session, workspace_id),
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
        triage = triage_teams(session, workspace_id)
        if embedders is None:
            embedders = _runtime_embedders(session)
    if data is not None:
        examples, weak = data
        models, report.skipped = fit_router(
            examples, embedders, progress=progress, weak=weak, triage_labels=triage
        )
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

    team: str | None = None
    team_confidence, threshold = 0.0, ROUTE_THRESHOLD
    team_model = usable.get("team")
    if team_model is not None and vectors.shape[1] == team_model.dim:
        teams, confidences, thresholds = team_decision(team_model, embedders, vectors, [language])
        team, team_confidence, threshold = teams[0], float(confidences[0]), float(thresholds[0])
    team_id: int | None = None
    if team is not None:
        row = session.get(Team, int(team))
        team_id = row.id if row is not None and row.workspace_id == workspace_id else None
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
