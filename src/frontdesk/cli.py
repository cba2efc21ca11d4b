"""The ``frontdesk`` command."""

from __future__ import annotations

import logging
import secrets
import sys
from typing import Annotated

import typer
from rich.console import Console

from frontdesk.config import Settings, get_settings

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
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def _run_server(runtime, host: str, port: int) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from frontdesk.web.app import create_app

    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]note:[/yellow] listening on {host}; put HTTPS in front of it.")
    uvicorn.run(
        create_app(runtime),
        host=host,
        port=port,
        log_level="info",
        ws_ping_interval=20,
        proxy_headers=False,
    )


HostOpt = Annotated[str, typer.Option(help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option(help="Port to listen on.")]


@app.command()
def serve(host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """Run the web server (API, inbox, widget). Applies database migrations first."""
    runtime = _runtime()
    console.print(f"Frontdesk on http://{host}:{port}  (inbox: /login, API docs: /docs)")
    _run_server(runtime, host, port)


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
) -> None:
    """Start Frontdesk with a demo workspace: agents, teams, sample conversations and a demo
    website with the chat widget on another origin."""
    from frontdesk.demo import seed_demo, start_demo_site

    runtime = _runtime()
    base = runtime.settings.base_url.rstrip("/") or f"http://{host}:{port}"
    site = f"http://{host}:{site_port}"
    with runtime.db.write() as session:
        info = seed_demo(session, base_url=base, site_origin=site)
    start_demo_site(host, site_port, base_url=base, workspace_slug=info.workspace_slug)
    console.rule("[bold]Frontdesk demo")
    console.print(f"Agent inbox:   {base}/login")
    console.print(f"Admin login:   {info.admin_email}  /  {info.admin_password}")
    console.print(f"Agent login:   {info.agent_email}  /  {info.admin_password}")
    console.print(f"Demo website:  {site}/   (the chat widget, from another origin)")
    console.print(f"Widget page:   {base}/widget/demo/{info.workspace_slug}")
    console.print(f"API docs:      {base}/docs   (token: {info.api_token})")
    console.rule()
    _run_server(runtime, host, port)


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


if __name__ == "__main__":
    app()
