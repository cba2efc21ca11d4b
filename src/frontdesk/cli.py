"""The ``frontdesk`` command."""

from __future__ import annotations

import json
import logging
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from frontdesk.config import InvalidSettings, Settings, get_settings

if TYPE_CHECKING:
    from rich.progress import Progress

app = typer.Typer(
    help="Frontdesk: customer-support automation.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
workspace_app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)
agent_app = typer.Typer(help="Agents and admins.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(agent_app, name="agent")
app.add_typer(token_app, name="token")
webhooks_app = typer.Typer(help="Outbound webhooks: the dead-letter list.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
kb_app = typer.Typer(help="Knowledge base: import and export articles.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

console = Console()
err = Console(stderr=True)


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _runtime(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    from frontdesk.runtime import Runtime

    settings = settings or get_settings()
    _setup_logging(settings)
    return Runtime.build(settings)


def _fail(message: str) -> typer.Exit:
    # soft wrap: a long path stays one piece to copy (the terminal wraps it, not rich)
    err.print(f"[red]error:[/red] {message}", soft_wrap=True)
    return typer.Exit(code=2)


@app.callback()
def _check_settings() -> None:
    """Frontdesk: customer-support automation."""
    try:
        get_settings()
    except InvalidSettings as error:
        raise _fail(str(error)) from None


def _start_smtp(runtime, smtp_port: int | None):  # type: ignore[no-untyped-def]
    """The SMTP listener on 127.0.0.1:smtp_port (None: no listener)."""
    if smtp_port is None:
        return None
    from frontdesk.channels.email.listener import MailListener

    try:
        listener = MailListener(runtime, smtp_port)
        listener.start()
    except (OSError, ValueError, RuntimeError) as exc:
        raise _fail(f"cannot listen for SMTP on 127.0.0.1:{smtp_port}: {exc}") from None
    return listener


def _run_server(runtime, host: str, port: int, listener=None) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from frontdesk.web.app import create_app

    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]note:[/yellow] listening on {host}; put HTTPS in front of it.")
    try:
        uvicorn.run(
            create_app(runtime),
            host=host,
            port=port,
            log_level="info",
            ws_ping_interval=20,
            proxy_headers=False,
        )
    finally:
        if listener is not None:
            listener.stop()


def _default_base_url(runtime, host: str, port: int) -> str:  # type: ignore[no-untyped-def]
    """FRONTDESK_BASE_URL, or, on a loopback address, this server's own: emails (article and
    survey links) are read away from any request, so they need one. On any other address only
    the operator knows the public URL (behind a proxy), so pages keep taking it from each
    request and emails carry no links until it is set."""
    log = logging.getLogger("frontdesk")
    if runtime.settings.base_url:
        return str(runtime.settings.base_url).rstrip("/")
    own = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    if host in ("127.0.0.1", "localhost", "::1"):
        runtime.settings.base_url = own
        log.info("FRONTDESK_BASE_URL is not set: links in emails point to %s", own)
    else:
        log.warning("FRONTDESK_BASE_URL is not set: emails will carry no links; set it")
    return own


HostOpt = Annotated[str, typer.Option(help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option(help="Port to listen on.")]
SmtpPortOpt = Annotated[
    int | None,
    typer.Option(
        help="Also receive support email: an SMTP listener on 127.0.0.1:SMTP_PORT (see "
        "docs/email.md).",
        min=1,
        max=65535,
    ),
]


@app.command()
def serve(host: HostOpt = "127.0.0.1", port: PortOpt = 8000, smtp_port: SmtpPortOpt = None) -> None:
    """Run the web server (API, inbox, widget). Applies database migrations first."""
    runtime = _runtime()
    _default_base_url(runtime, host, port)
    listener = _start_smtp(runtime, smtp_port)
    console.print(f"Frontdesk on http://{host}:{port}  (inbox: /login, API docs: /docs)")
    if listener is not None:
        console.print(f"SMTP listener on 127.0.0.1:{smtp_port}")
    _run_server(runtime, host, port, listener)


@app.command()
def worker(
    workers: Annotated[int, typer.Option(help="Worker threads.")] = 4,
) -> None:
    """Run background jobs (webhooks, timers). Needs FRONTDESK_REDIS_URL; without Redis,
    `frontdesk serve` runs the jobs itself."""
    settings = get_settings()
    if not settings.redis_url:
        raise _fail(
            "`frontdesk worker` needs FRONTDESK_REDIS_URL: without Redis the jobs run inside "
            "`frontdesk serve`."
        )
    from frontdesk.runtime import install

    runtime = _runtime(settings)
    install(runtime)
    console.print(f"Frontdesk worker: {workers} threads on {settings.redis_url}")
    runtime.jobs.run_consumer(workers)


@app.command()
def migrate() -> None:
    """Apply database migrations and exit."""
    settings = get_settings()
    _setup_logging(settings)
    from frontdesk.store.migrate import upgrade

    upgrade(settings.effective_database_url)
    console.print("Database is up to date.")


@app.command()
def demo(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    site_port: Annotated[
        int, typer.Option(help="Port of the demo company website (another origin) with the widget.")
    ] = 8001,
    smtp_port: SmtpPortOpt = None,
) -> None:
    """Start Frontdesk with a demo workspace: agents, teams, sample conversations and a demo
    website with the chat widget on another origin."""
    from frontdesk.demo import seed_demo, start_demo_site, warm_knowledge_index

    runtime = _runtime()
    base = _default_base_url(runtime, host, port)
    site = f"http://{host}:{site_port}"
    with runtime.db.write() as session:
        info = seed_demo(session, base_url=base, site_origin=site)
    warm_knowledge_index(runtime, info.workspace_id)
    start_demo_site(host, site_port, base_url=base, workspace_slug=info.workspace_slug)
    listener = _start_smtp(runtime, smtp_port)
    console.rule("[bold]Frontdesk demo")
    if info.kb is not None:
        console.print(
            f"Knowledge base: {info.kb.imported} article versions imported"
            + (f", {len(info.kb.skipped)} skipped (see the log)" if info.kb.skipped else ""),
            markup=False,
        )
    console.print(f"Agent inbox:   {base}/login")
    console.print(f"Admin login:   {info.admin_email}  /  {info.admin_password}")
    console.print(f"Agent login:   {info.agent_email}  /  {info.admin_password}")
    console.print(f"Demo website:  {site}/   (the chat widget, from another origin)")
    console.print(f"Widget page:   {base}/widget/demo/{info.workspace_slug}")
    console.print(f"Help center:   {base}/help/{info.workspace_slug}")
    console.print(f"Web form:      {base}/form/{info.workspace_slug}")
    console.print(f"API docs:      {base}/docs")
    console.print(f"API token:     {info.api_token}", soft_wrap=True)
    if listener is not None:
        console.print(f"Support email: {info.support_address}", markup=False)
        console.print(f"SMTP listener: 127.0.0.1:{smtp_port}  (send mail there)", markup=False)
    console.rule()
    _run_server(runtime, host, port, listener)


@workspace_app.command("create")
def workspace_create(
    name: str,
    slug: Annotated[str | None, typer.Option(help="Public key for the widget snippet.")] = None,
    origin: Annotated[
        list[str] | None, typer.Option(help="Allowed widget origin (repeat).")
    ] = None,
) -> None:
    """Create a workspace."""
    from frontdesk.accounts.actions import create_workspace, update_workspace
    from frontdesk.errors import FrontdeskError

    runtime = _runtime()
    try:
        with runtime.db.write() as session:
            workspace = create_workspace(session, name, slug=slug)
            if origin:
                update_workspace(session, workspace, allowed_origins=origin)
            slug_, secret = workspace.slug, workspace.identity_secret
    except FrontdeskError as exc:
        raise _fail(exc.message) from None
    console.print(f"Workspace {name!r} created: slug {slug_}")
    console.print(f"Identity-verification secret: {secret}")


@agent_app.command("create")
def agent_create(
    workspace: Annotated[str, typer.Option(help="Workspace slug.")],
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="admin or agent.")] = "agent",
    password: Annotated[
        str | None, typer.Option(help="Omit to generate one (printed once).")
    ] = None,
) -> None:
    """Create an agent or an admin who can log in to the inbox."""
    from frontdesk.accounts.actions import access_workspace, create_agent
    from frontdesk.errors import FrontdeskError

    runtime = _runtime()
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        with runtime.db.write() as session:
            ws = access_workspace(session, workspace)
            create_agent(session, ws, email=email, name=name, role=role, password=password)
    except FrontdeskError as exc:
        raise _fail(exc.message) from None
    console.print(f"{role.capitalize()} {email} created in {workspace}.")
    if generated:
        console.print(f"Password: {password}")


@token_app.command("create")
def token_create(
    workspace: Annotated[str, typer.Option(help="Workspace slug.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
) -> None:
    """Create an API token (shown once)."""
    from frontdesk.accounts.actions import access_workspace, create_api_token
    from frontdesk.errors import FrontdeskError

    runtime = _runtime()
    try:
        with runtime.db.write() as session:
            token, _ = create_api_token(
                session, access_workspace(session, workspace), name, created_by=None
            )
    except FrontdeskError as exc:
        raise _fail(exc.message) from None
    console.print(token)


@webhooks_app.command("dead")
def webhooks_dead(
    workspace: Annotated[str | None, typer.Option(help="Only this workspace (slug).")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 100,
) -> None:
    """List webhook deliveries that failed every attempt (newest first)."""
    from rich.table import Table

    from frontdesk.accounts.actions import access_workspace
    from frontdesk.errors import FrontdeskError
    from frontdesk.webhooks.delivery import dead_deliveries

    runtime = _runtime()
    table = Table("delivery id", "workspace", "endpoint", "event", "attempts", "last error")
    try:
        with runtime.db.read() as session:
            ws_id = access_workspace(session, workspace).id if workspace else None
            rows = dead_deliveries(session, workspace_id=ws_id, limit=limit)
            for d in rows:
                table.add_row(
                    d.id,
                    str(d.workspace_id),
                    str(d.endpoint_id),
                    d.event_type,
                    str(d.attempts),
                    d.last_error or "",
                )
    except FrontdeskError as exc:
        raise _fail(exc.message) from None
    if not rows:
        console.print("No dead webhook deliveries.")
        return
    console.print(table)
    console.print("Replay one with: frontdesk webhooks replay DELIVERY_ID")


@webhooks_app.command("replay")
def webhooks_replay(delivery_id: str) -> None:
    """Send a dead webhook delivery again (same delivery id, fresh attempts)."""
    from frontdesk.errors import FrontdeskError
    from frontdesk.webhooks.delivery import replay_delivery

    runtime = _runtime()
    try:
        with runtime.db.write() as session:
            replay_delivery(session, delivery_id)
    except FrontdeskError as exc:
        raise _fail(exc.message) from None
    console.print(f"Delivery {delivery_id} is pending again; a worker will send it.")


# ----- knowledge base ------------------------------------------------------------------------

WorkspaceOpt = Annotated[str, typer.Option(help="Workspace slug.")]


def _stderr_progress() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
    )


@kb_app.command("import")
def kb_import(
    source: Annotated[
        Path,
        typer.Argument(
            help="A folder of <id>.md / <id>.<lang>.md files with YAML front matter "
            "(and collections.yaml), or a .json export."
        ),
    ],
    workspace: WorkspaceOpt,
    draft: Annotated[
        bool, typer.Option("--draft", help="Import as drafts instead of published.")
    ] = False,
) -> None:
    """Import articles (create or update by id and language); a broken file is skipped and
    said so, the others are imported."""
    from frontdesk.accounts.actions import access_workspace
    from frontdesk.errors import FrontdeskError, InvalidInput
    from frontdesk.knowledge.store import (
        ImportReport,
        import_articles,
        import_collections,
        read_import_source,
    )

    if not source.exists():
        raise _fail(f"{source} does not exist.")
    runtime = _runtime()
    status = "draft" if draft else "published"
    try:
        with runtime.db.write() as session:
            ws = access_workspace(session, workspace)
            articles, errors, collections = read_import_source(source)
            report = ImportReport(skipped=[str(e) for e in errors])
            try:
                with session.begin_nested():
                    import_collections(session, ws.id, collections)
            except InvalidInput as exc:
                where = "collections.yaml" if source.is_dir() else f"{source.name} collections"
                report.skipped.append(f"{where}: {exc.message} (collections skipped)")
            with _stderr_progress() as progress:
                task = progress.add_task("Importing", total=len(articles) + len(errors))
                progress.advance(task, len(errors))
                import_articles(
                    session,
                    ws.id,
                    articles,
                    status=status,
                    report=report,
                    on_article=lambda _: progress.advance(task),
                )
    except FrontdeskError as exc:
        raise _fail(exc.message) from None
    console.print(
        f"{workspace}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged ({status})"
        + (f", {len(report.skipped)} skipped:" if report.skipped else "."),
        markup=False,
    )
    for line in report.skipped:
        console.print(f"  skipped {line}", markup=False, highlight=False)
    if report.imported == 0:
        raise _fail(f"nothing was imported from {source}.")


@kb_app.command("export")
def kb_export(
    target: Annotated[
        Path,
        typer.Argument(help="Folder to write (Markdown), or the file to write with --json."),
    ],
    workspace: WorkspaceOpt,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON file (into TARGET/<workspace>.json if a folder)."),
    ] = False,
) -> None:
    """Write every article version in the import format: <id>.md / <id>.<lang>.md and
    collections.yaml, or one JSON file."""
    from frontdesk.accounts.actions import access_workspace
    from frontdesk.errors import FrontdeskError
    from frontdesk.knowledge.store import export_json, export_markdown

    runtime = _runtime()
    try:
        with runtime.db.read() as session:
            ws = access_workspace(session, workspace)
            if as_json:
                path = target / f"{ws.slug}.json" if target.is_dir() else target
                data = export_json(session, ws.id)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(
                    json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
                )
                what = f"{len(data['articles'])} article versions to {path}"
            else:
                if target.exists() and not target.is_dir():
                    raise _fail(f"{target} is a file; give a folder (or use --json).")
                count = export_markdown(session, ws.id, target)
                what = f"{count} article versions to {target}/"
    except FrontdeskError as exc:
        raise _fail(exc.message) from None
    except OSError as exc:
        raise _fail(f"cannot write {target}: {exc.strerror or exc}.") from None
    console.print(f"Exported {what}", markup=False)


# ----- evaluation -------------------------------------------------------------------------------

FileOpt = Annotated[Path, typer.Option(dir_okay=False)]


def _percent(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}"


def _eval_table(result: dict[str, Any]) -> Any:
    from rich import box
    from rich.table import Table

    from frontdesk.evaluation.scoring import FIGURES

    languages = sorted(result["by_language"])
    table = Table(
        title="frontdesk eval (figures in %)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("figure", no_wrap=True)
    table.add_column("all", justify="right", style="bold", no_wrap=True)
    for language in languages:
        table.add_column(language, justify="right", no_wrap=True)
    groups = [result] + [result["by_language"][lang] for lang in languages]
    table.add_row("queries", *(str(g["queries"]) for g in groups))
    for name in FIGURES:
        table.add_row(name, _percent(result[name]), *(_percent(g[name], 0) for g in groups[1:]))
    for q in ("p50", "p95"):
        table.add_row(
            f"latency {q} (ms)",
            *("—" if g["latency_ms"][q] is None else f"{g['latency_ms'][q]:.0f}" for g in groups),
        )
    return table


# `frontdesk eval --kb ...` runs the product evaluation (the group's own callback);
# `frontdesk eval intents --train ...` is a subcommand of the same group.
eval_app = typer.Typer(
    help="Evaluate: the product on labelled messages (`frontdesk eval --kb ...`), or the "
    "intent classifier on public benchmarks (`frontdesk eval intents ...`).",
    no_args_is_help=True,
)
app.add_typer(eval_app, name="eval")


@eval_app.callback(invoke_without_command=True)
def eval_command(
    ctx: typer.Context,
    kb: Annotated[
        Path | None,
        typer.Option(help="Knowledge base: a folder of Markdown articles or a .json export."),
    ] = None,
    customers: Annotated[
        Path | None, typer.Option(help="customers.jsonl: one customer a line.")
    ] = None,
    teams: Annotated[
        Path | None, typer.Option(help="teams.json: the teams, each {id, description}.")
    ] = None,
    queries: Annotated[
        Path | None, typer.Option(help="Labelled messages to score (JSON lines).")
    ] = None,
    learn: Annotated[
        Path | None,
        typer.Option(help="Labelled messages to replay first as past, handled conversations."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else.")
    ] = False,
    details: Annotated[
        Path | None, typer.Option(help="Also write each query's outcome to this JSON-lines file.")
    ] = None,
    folds: Annotated[
        int | None,
        typer.Option(
            help="K-fold over the queries: each fold, in a fresh workspace, learns from the "
            "other folds' messages and scores its own (not with --learn)."
        ),
    ] = None,
) -> None:
    """Score the bot and the routing on labelled messages: a fresh workspace gets the
    knowledge base, customers and teams, then every query goes through the product as a live
    message. The database is a temporary SQLite file unless FRONTDESK_DATABASE_URL is set
    (see docs/evaluation.md)."""
    import contextlib
    import tempfile

    if ctx.invoked_subcommand is not None:
        return
    for name, value in (
        ("kb", kb),
        ("customers", customers),
        ("teams", teams),
        ("queries", queries),
    ):
        if value is None:
            raise _fail(f"Missing option '--{name}' (see frontdesk eval --help).")
    assert kb is not None and customers is not None and teams is not None and queries is not None

    from frontdesk.errors import FrontdeskError
    from frontdesk.evaluation.helios import DataError
    from frontdesk.evaluation.run import load_data, outcome_detail, run_evaluation
    from frontdesk.evaluation.scoring import Outcome
    from frontdesk.knowledge.registry import KnowledgeRegistry
    from frontdesk.runtime import Runtime, install, is_fake_models, knowledge_embedders

    settings = get_settings()
    _setup_logging(settings)
    try:
        data = load_data(kb, customers, teams, queries, learn, folds=folds)
    except DataError as exc:
        raise _fail(exc.message) from None
    outcomes: list[Outcome] = []
    # with --json, whatever else writes to stdout (a library, a stray print) goes to stderr
    quiet = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(quiet)
            if settings.database_url:
                eval_settings = settings
            else:
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fd-eval-")))
                eval_settings = settings.model_copy(
                    update={
                        "data_dir": folder,
                        "database_url": f"sqlite:///{folder / 'eval.db'}",
                        "redis_url": "",
                    }
                )
            runtime = Runtime.build(eval_settings)
            stack.callback(runtime.close)
            if eval_settings is not settings:
                # the database is thrown away, the document vectors are kept (and reused)
                runtime.knowledge = KnowledgeRegistry(
                    embedders=knowledge_embedders(settings.knowledge_models),
                    cache_dir=None if is_fake_models(settings) else settings.data_dir / "vectors",
                )
            runtime.jobs.huey.immediate = True  # jobs (learning, webhooks) run inline
            install(runtime)
            with _stderr_progress() as progress:
                result = run_evaluation(runtime, data, progress=progress, outcomes_out=outcomes)
    except DataError as exc:
        raise _fail(exc.message) from None
    except FrontdeskError as exc:
        raise _fail(exc.message) from None
    if details is not None:
        try:
            details.write_text(
                "".join(json.dumps(outcome_detail(o), ensure_ascii=False) + "\n" for o in outcomes),
                encoding="utf-8",
            )
        except OSError as exc:
            raise _fail(f"cannot write {details}: {exc.strerror or exc}.") from None
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    console.print(_eval_table(result))
    counts = result["counts"]
    console.print(
        f"{counts['answered']} answered ({counts['answered_right']} with the labelled article), "
        f"{counts['declined']} declined, {counts['handed_off']} handed off; "
        f"{result['meta']['learned']} past conversations learned"
        + (f" over {result['folds']} folds" if result.get("folds") else "")
        + f"; {result['meta']['seconds']:.0f} s.",
        markup=False,
    )


def _intents_table(result: dict[str, Any]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(
        title="frontdesk eval intents (figures in %)", box=box.SIMPLE_HEAD, pad_edge=False
    )
    table.add_column("out of scope as", no_wrap=True)
    for name in ("accuracy", "macro-F1", "in-scope acc.", "oos recall", "threshold"):
        table.add_column(name, justify="right", no_wrap=True)
    for mode, figures in result["modes"].items():
        table.add_row(
            mode + (" (chosen)" if mode == result["chosen"] else ""),
            _percent(figures["accuracy"]),
            _percent(figures["macro_f1"]),
            _percent(figures["in_scope_accuracy"]),
            _percent(figures["oos_recall"]),
            f"{figures['threshold']:.3f}",
        )
    return table


@eval_app.command("intents")
def eval_intents(
    train: Annotated[Path, typer.Option(help="Training examples: JSON lines of {text, label}.")],
    test: Annotated[Path, typer.Option(help="Test examples, same format; only scored.")],
    val: Annotated[
        Path | None,
        typer.Option(help="Validation examples for the threshold (default: a tenth of train)."),
    ] = None,
    c: Annotated[
        list[float] | None,
        typer.Option("--c", help="Regularisation C to try (repeat; the best on val is kept)."),
    ] = None,
    max_in_scope_loss: Annotated[
        float,
        typer.Option(
            help="In-scope accuracy (on val) the out-of-scope threshold may cost.", min=0, max=1
        ),
    ] = 0.015,
    cache: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the embedding cache (default FRONTDESK_DATA_DIR/vectors).",
            file_okay=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout, nothing else.")
    ] = False,
) -> None:
    """Intent classification on a public benchmark (label `oos` = out of scope): the router's
    classifier (sentence embeddings + logistic regression), out of scope by a confidence
    threshold tuned on --val, never on --test (see docs/evaluation.md)."""
    import contextlib

    from frontdesk.evaluation.helios import DataError
    from frontdesk.evaluation.intents import DEFAULT_C, evaluate_intents, load_intents
    from frontdesk.runtime import is_fake_models, knowledge_embedders

    settings = get_settings()
    _setup_logging(settings)
    try:
        train_data, test_data = load_intents(train), load_intents(test)
        val_data = load_intents(val) if val is not None else None
    except DataError as exc:
        raise _fail(exc.message) from None
    if len({label for label in train_data.labels if label != "oos"}) < 2:
        raise _fail(f"{train} needs at least two in-scope labels.")
    cache_dir = cache or settings.data_dir / "vectors"
    quiet = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with quiet, _stderr_progress() as progress:
        tasks: dict[str, Any] = {}

        def report(description: str, done: int, total: int) -> None:
            if description not in tasks:
                tasks[description] = progress.add_task(description, total=total)
            progress.update(tasks[description], completed=done, total=total)

        result = evaluate_intents(
            train_data,
            test_data,
            val_data,
            knowledge_embedders(settings.knowledge_models),
            cache_dir=None if is_fake_models(settings) else cache_dir,
            c_grid=c or [DEFAULT_C],
            max_loss=max_in_scope_loss,
            progress=report,
        )
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    console.print(_intents_table(result))
    meta = result["meta"]
    console.print(
        f"{meta['train']['examples']} train, {meta['test']['examples']} test "
        f"({meta['test']['oos']} oos); threshold tuned on {meta['tuned_on']} "
        f"(costing at most {meta['max_in_scope_loss'] * 100:g} points of in-scope accuracy); "
        f"embedders {'+'.join(meta['embedders'])}; embedding {meta['seconds']['embedding']:.0f} s "
        f"({sum(meta['embedded'].values())} texts new), fitting {meta['seconds']['fitting']:.0f} s.",
        markup=False,
    )


# ----- learned routing ------------------------------------------------------------------------

router_app = typer.Typer(help="Learned routing (F16): train the router.", no_args_is_help=True)
app.add_typer(router_app, name="router")


@router_app.command("train")
def router_train(workspace: WorkspaceOpt) -> None:
    """Train the workspace's router on its past conversations (final team, priority, category)
    and print the cross-validated accuracy."""
    from frontdesk.accounts.actions import access_workspace
    from frontdesk.errors import FrontdeskError
    from frontdesk.routing.learned import retrain

    runtime = _runtime()
    try:
        with runtime.db.read() as session:
            workspace_id = access_workspace(session, workspace).id
        with _stderr_progress() as progress:
            tasks: dict[str, Any] = {}

            def report(description: str, done: int, total: int) -> None:
                if description not in tasks:
                    tasks[description] = progress.add_task(description, total=total)
                progress.update(tasks[description], completed=done, total=total)

            result = retrain(runtime.db, workspace_id, progress=report)
    except FrontdeskError as exc:
        raise _fail(exc.message) from None
    if not result.ok:
        raise _fail(f"{workspace}: {result.message}")
    console.print(
        f"{workspace}: router trained on {result.conversations} conversations "
        f"in {result.seconds:.0f} s.",
        markup=False,
    )
    for kind, metrics in result.trained.items():
        confident = metrics["confident_accuracy"]
        console.print(
            f"  {kind}: cross-validated accuracy {metrics['accuracy'] * 100:.1f}% "
            f"on {metrics['examples']} conversations, {len(metrics['class_counts'])} classes; "
            f"{metrics['coverage'] * 100:.0f}% above the threshold"
            + (f" ({confident * 100:.1f}% right)" if confident is not None else ""),
            markup=False,
        )
    for kind, why in result.skipped.items():
        console.print(f"  {kind}: not trained ({why})", markup=False)


# ----- inbound email --------------------------------------------------------------------------

mail_app = typer.Typer(
    help="Inbound email: the failed-mail list, reprocessing, IMAP polling.", no_args_is_help=True
)
app.add_typer(mail_app, name="mail")


def _inline_runtime(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    """A runtime whose jobs run in this process, at once (this command is the worker)."""
    from frontdesk.runtime import install

    runtime = _runtime(settings)
    runtime.jobs.huey.immediate = True
    install(runtime)
    return runtime


@mail_app.command("failed")
def mail_failed(
    workspace: Annotated[str | None, typer.Option(help="Only this workspace (slug).")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.", min=1)] = 100,
) -> None:
    """List inbound emails that could not be processed (newest first), with the reason."""
    from frontdesk.accounts.actions import access_workspace
    from frontdesk.channels.email.ingest import FAILED, list_mails
    from frontdesk.errors import FrontdeskError

    runtime = _runtime()
    lines: list[str] = []
    try:
        with runtime.db.read() as session:
            ws_id = access_workspace(session, workspace).id if workspace else None
            rows = list_mails(session, workspace_id=ws_id, statuses=(FAILED,), limit=limit)
            for mail in rows:
                lines += [
                    f"mail {mail.id}  received {mail.received_at:%Y-%m-%d %H:%M} UTC  "
                    f"via {mail.source}  workspace {mail.workspace_id or '-'}  "
                    f"tries {mail.attempts}  {mail.size} bytes",
                    f"  from:    {mail.envelope_from or '-'}  to: "
                    f"{', '.join(mail.envelope_to or []) or '-'}",
                    f"  subject: {mail.subject or '-'}",
                    f"  reason:  {mail.reason or '-'}",
                ]
    except FrontdeskError as exc:
        raise _fail(exc.message) from None
    if not rows:
        console.print("No failed inbound mail.")
        return
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"{len(rows)} failed. Process one again with: frontdesk mail reprocess ID")


@mail_app.command("reprocess")
def mail_reprocess(mail_id: int) -> None:
    """Process a failed inbound email again, now, and say how it went."""
    from frontdesk.channels.email.ingest import FAILED, access_mail, process_mail, reprocess
    from frontdesk.errors import FrontdeskError

    runtime = _inline_runtime()
    try:
        with runtime.db.write() as session:
            reprocess(session, mail_id, enqueue=False)
    except FrontdeskError as exc:
        raise _fail(exc.message) from None
    process_mail(runtime, mail_id)
    with runtime.db.read() as session:
        mail = access_mail(session, mail_id)
        status, reason = mail.status, mail.reason
        conversation_id, message_id = mail.conversation_id, mail.message_id
    if status == FAILED:
        raise _fail(f"inbound mail {mail_id} failed again: {reason}")
    if status in ("stored", "duplicate"):
        console.print(
            f"Inbound mail {mail_id}: {status}, message {message_id} in conversation "
            f"{conversation_id}.",
            markup=False,
        )
    else:
        console.print(f"Inbound mail {mail_id}: {status} ({reason}).", markup=False)


@mail_app.command("poll")
def mail_poll(
    url: Annotated[
        str | None,
        typer.Option(
            help="The mailbox, imap[s]://user:pass@host:port/INBOX (default: FRONTDESK_IMAP_URL)."
        ),
    ] = None,
) -> None:
    """Fetch the IMAP mailbox's unseen mail now and process it (the periodic job does the
    same every FRONTDESK_IMAP_POLL_SECONDS)."""
    from frontdesk.channels.email.imap import ImapError, poll_mailbox

    runtime = _inline_runtime()
    if not (url or runtime.settings.imap_url):
        raise _fail("no mailbox: set FRONTDESK_IMAP_URL or pass --url imap://user:pass@host/INBOX.")
    try:
        result = poll_mailbox(runtime, url=url)
    except (ImapError, ValueError) as exc:
        raise _fail(str(exc)) from None
    console.print(result.summary(), markup=False)
    if result.errors:
        raise typer.Exit(code=1)


if __name__ == "__main__":
    app()
