"""The demo workspace: Northwind Bikes, a fictional e-bike shop, with its team and a few
conversations, plus a small company website (another origin) carrying the chat widget."""

from __future__ import annotations

import html
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.accounts.actions import (
    create_agent,
    create_api_token,
    create_team,
    create_workspace,
    set_password,
    set_team_members,
    update_agent,
    update_workspace,
)
from frontdesk.automation.macros import do_create_macro, list_macros
from frontdesk.automation.sla import do_create_policy, list_policies, save_business_hours
from frontdesk.conversations.actions import (
    do_add_note,
    do_assign,
    do_change_priority,
    do_change_status,
    do_hand_off,
    do_send_agent_reply,
)
from frontdesk.conversations.events import Actor
from frontdesk.customers.actions import do_update_customer
from frontdesk.inbound import InboundMessage, record
from frontdesk.knowledge.store import ImportReport, import_folder, list_articles
from frontdesk.routing.store import do_create_rule, list_rules
from frontdesk.store.models import Agent, Customer, Team, Workspace

if TYPE_CHECKING:
    from frontdesk.runtime import Runtime

log = logging.getLogger(__name__)

DEMO_SLUG = "northwind-demo"
# The demo's help center: Markdown articles with front matter and collections.yaml.
DEMO_KB = Path(__file__).with_name("demo_kb")
ADMIN_EMAIL = "admin@northwind.example"
AGENT_EMAIL = "lena@northwind.example"
SUPPORT_ADDRESS = "support@northwind-demo.example"


@dataclass(frozen=True)
class DemoInfo:
    workspace_slug: str
    admin_email: str
    agent_email: str
    admin_password: str
    api_token: str
    workspace_id: int = 0
    kb: ImportReport | None = None  # what this start imported into the knowledge base, if any
    support_address: str = ""  # where the demo workspace receives email


TEAMS = [
    ("Billing", "billing", "Invoices, payments, refunds."),
    ("Technical support", "tech", "The Northwind app, motor and battery errors, firmware."),
    ("Sales", "sales", "Prices, quotes, fleet offers."),
    ("Workshop", "workshop", "Repairs, servicing, warranty claims."),
    ("Retention", "retention", "Cancellations, customers thinking of leaving."),
]

AGENTS = [
    (ADMIN_EMAIL, "Sam Admin", "admin", ["billing", "sales", "retention"]),
    (AGENT_EMAIL, "Lena Fischer", "agent", ["tech", "workshop"]),
    ("arun@northwind.example", "Arun Chaiyaporn", "agent", ["tech", "billing"]),
]

# Assignment rules (F15): who gets a conversation the bot hands over, by what it is about. The
# keywords are in the seven languages the demo's customers write (whole words, accents and
# case ignored, "*" any ending; Thai and Chinese match anywhere). The learned router takes
# over from them once the team has handled conversations (`frontdesk router train`).
ROUTING_RULES: list[tuple[str, str, list[str]]] = [
    (
        "Invoices, payments and refunds to Billing",
        "billing",
        [
            "invoice*",
            "refund*",
            "payment*",
            "instalment*",
            "receipt*",
            "Rechnung*",
            "Zahlung*",
            "Erstattung",
            "factura*",
            "pago*",
            "reembolso*",
            "faktur",
            "tagihan",
            "pembayaran",
            "cicilan",
            "τιμολόγι*",
            "πληρωμ*",
            "επιστροφή χρημάτων",
            "发票",
            "退款",
            "付款",
            "分期",
            "ใบแจ้งหนี้",
            "ใบเสร็จ",
            "คืนเงิน",
            "ผ่อน",
        ],
    ),
    (
        "Repairs, servicing and warranty to the Workshop",
        "workshop",
        [
            "repair*",
            "service",
            "servicing",
            "warranty",
            "brake*",
            "Reparatur",
            "Werkstatt",
            "Garantie",
            "Bremse*",
            "reparación",
            "taller",
            "garantía",
            "freno*",
            "servis",
            "garansi",
            "rem",
            "επισκευ*",
            "σέρβις",
            "εγγύηση",
            "φρέν*",
            "维修",
            "保养",
            "保修",
            "刹车",
            "ซ่อม",
            "รับประกัน",
            "เบรก",
        ],
    ),
    (
        "The app, error codes and firmware to Technical support",
        "tech",
        [
            "app",
            "error*",
            "E0*",
            "firmware",
            "bluetooth",
            "password",
            "login",
            "Fehler*",
            "Passwort",
            "aplicación",
            "contraseña",
            "aplikasi",
            "kata sandi",
            "εφαρμογή",
            "σφάλμα*",
            "κωδικ*",
            "应用",
            "错误",
            "固件",
            "密码",
            "แอป",
            "รหัสผ่าน",
            "ข้อผิดพลาด",
        ],
    ),
    (
        "Fleets and companies to Sales",
        "sales",
        [
            "fleet*",
            "company",
            "companies",
            "quote*",
            "Flotte*",
            "Firma",
            "Angebot*",
            "flota*",
            "empresa*",
            "presupuesto",
            "armada",
            "perusahaan",
            "στόλο*",
            "εταιρεί*",
            "车队",
            "企业",
            "公司",
            "บริษัท",
            "องค์กร",
        ],
    ),
]

CONVERSATIONS: list[dict[str, object]] = [
    {
        "name": "Maria Papadopoulou",
        "email": "maria@example.com",
        "language": "el",
        "attributes": {"plan": "care_plus", "vip": True, "products": ["city-e2"]},
        "text": "Γεια σας, η μπαταρία του ποδηλάτου μου δεν φορτίζει πια. Τι μπορώ να κάνω;",
        "page": "/support/battery",
        "team": "tech",
        "priority": "high",
        "reply": "Hi Maria, sorry about that! Could you tell me which colour the charger LED shows?",
    },
    {
        "name": "Budi Santoso",
        "email": "budi@example.com",
        "language": "id",
        "attributes": {"plan": "basic", "products": ["cargo-c1"]},
        "text": "Halo, kapan pesanan saya #NW-20431 akan dikirim?",
        "page": "/orders",
        "team": None,
        "priority": "normal",
        "reply": None,
    },
    {
        "name": "Jonas Weber",
        "email": "jonas@example.com",
        "language": "de",
        "attributes": {"plan": "care_plus", "signup_date": "2024-03-02", "spend": 3400},
        "text": "Ich möchte eine Rechnung für meine letzte Inspektion. <script>alert('x')</script>",
        "page": "/account/invoices",
        "team": "billing",
        "priority": "normal",
        "reply": "Hallo Jonas, die Rechnung ist unterwegs per E-Mail.",
        "resolve": True,
    },
    {
        "name": None,
        "email": None,
        "language": None,
        "attributes": {},
        "text": "do you ship to Thailand?",
        "page": "/",
        "team": None,
        "priority": "low",
        "reply": None,
    },
]


def seed_demo(session: Session, *, base_url: str, site_origin: str) -> DemoInfo:
    """Create (or refresh) the demo workspace; every start gets a fresh admin password."""
    password = secrets.token_urlsafe(9)
    workspace = session.scalar(select(Workspace).where(Workspace.slug == DEMO_SLUG))
    fresh = workspace is None
    if workspace is None:
        workspace = create_workspace(session, "Northwind Bikes", slug=DEMO_SLUG)
    update_workspace(session, workspace, allowed_origins=[site_origin, base_url])
    if fresh:
        teams = {
            slug: create_team(session, workspace, name, slug=slug, description=desc)
            for name, slug, desc in TEAMS
        }
        members: dict[str, list[int]] = {slug: [] for slug in teams}
        for email, name, role, team_slugs in AGENTS:
            agent = create_agent(
                session, workspace, email=email, name=name, role=role, password=password
            )
            update_agent(session, agent, availability="online")
            for slug in team_slugs:
                members[slug].append(agent.id)
        for slug, team in teams.items():
            set_team_members(session, team, members[slug])
        seed_sla(session, workspace)  # before the conversations: they get their clocks
        _seed_conversations(session, workspace, teams)
    elif not list_policies(session, workspace.id):
        seed_sla(session, workspace)
    if not list_rules(session, workspace.id):
        seed_routing_rules(session, workspace.id)
    kb = None
    if not list_articles(session, workspace.id):
        # the first start (or the first since the demo had a knowledge base)
        kb = seed_knowledge_base(session, workspace.id)
    if not list_macros(session, workspace.id):
        seed_macros(session, workspace.id)
    for agent in session.scalars(select(Agent).where(Agent.workspace_id == workspace.id)):
        set_password(session, agent, password)
    token, _ = create_api_token(session, workspace, "demo", created_by=None)
    support = seed_support_address(session, workspace.id)
    return DemoInfo(DEMO_SLUG, ADMIN_EMAIL, AGENT_EMAIL, password, token, workspace.id, kb, support)


def seed_support_address(session: Session, workspace_id: int) -> str:
    """The demo workspace's support address (its default), created on the first start."""
    from frontdesk.channels.email.support import create_support_address, list_support_addresses

    addresses = list_support_addresses(session, workspace_id)
    if not addresses:
        return create_support_address(
            session, workspace_id, SUPPORT_ADDRESS, name="Northwind Bikes Support"
        ).address
    return addresses[0].address


# The demo's SLAs (F31): the chat hours of the help center's contact article, German public
# holidays, and two policies: urgent conversations around the clock, the rest in those hours.
DEMO_BUSINESS_HOURS: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "weekly": {
        **{day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        "sat": [["09:00", "17:00"]],
    },
    "holidays": [
        "2026-12-25",
        "2026-12-26",
        "2027-01-01",
        "2027-03-26",
        "2027-03-29",
        "2027-05-01",
        "2027-05-06",
        "2027-05-17",
        "2027-10-03",
        "2027-12-25",
        "2027-12-26",
    ],
}
DEMO_SLA_POLICIES: tuple[dict[str, Any], ...] = (
    {
        "name": "Urgent: around the clock",
        "priority": "urgent",
        "first_response_minutes": 30,
        "resolution_minutes": 4 * 60,
        "business_hours": False,
        "warn_at_percent": 75,
    },
    {
        "name": "Everything else: business hours",
        "first_response_minutes": 4 * 60,
        "resolution_minutes": 2 * 12 * 60,  # two working days of 12 hours
        "business_hours": True,
        "warn_at_percent": 80,
    },
)


def seed_sla(session: Session, workspace: Workspace) -> None:
    save_business_hours(session, workspace, DEMO_BUSINESS_HOURS)
    for values in DEMO_SLA_POLICIES:
        do_create_policy(session, workspace.id, values)


# Shared macros of the demo (F26): variables, a default, a Thai and a German variant, actions.
DEMO_MACROS: list[dict[str, Any]] = [
    {
        "name": "Refund on its way",
        "body": 'Hi {{ customer.first_name | default("there") }}, your refund'
        "{% if customer.attributes.last_order is defined %} for order "
        "{{ customer.attributes.last_order }}{% endif %} is on its way: you will see it on "
        "your statement within 5 working days.\n\n{{ agent.first_name }}, {{ workspace.name }}",
        "variants": {
            "de": 'Hallo {{ customer.first_name | default("zusammen") }}, Ihre Erstattung ist '
            "unterwegs: Sie sehen sie innerhalb von 5 Werktagen auf Ihrem Konto.\n\n"
            "{{ agent.first_name }}, {{ workspace.name }}",
            "th": 'สวัสดีคุณ {{ customer.first_name | default("ลูกค้า") }} เงินคืนของคุณกำลัง'
            "ดำเนินการ และจะเข้าบัญชีภายใน 5 วันทำการ\n\n{{ agent.first_name }}, {{ workspace.name }}",
        },
        "actions": {"tags": ["refund"], "status": "resolved"},
    },
    {
        "name": "Ask for the error code",
        "body": 'Hi {{ customer.first_name | default("there") }}, could you tell me the error '
        "code shown on the display (E01 to E09) and when it appears? Then I can help you "
        "right away.",
        "variants": {
            "de": 'Hallo {{ customer.first_name | default("zusammen") }}, welcher Fehlercode '
            "(E01 bis E09) steht im Display, und wann erscheint er? Dann kann ich sofort helfen.",
        },
        "actions": {"status": "pending", "tags": ["error-code"]},
    },
    {
        "name": "Escalate to the workshop",
        "body": "Thanks{% if customer.first_name is defined %} {{ customer.first_name }}"
        "{% endif %}! I have passed this to our workshop team; they will get back to you in "
        "this conversation.",
        "actions": {"team": "workshop", "priority": "high"},
    },
]


def seed_routing_rules(session: Session, workspace_id: int) -> None:
    """The demo's assignment rules (:data:`ROUTING_RULES`), for a workspace that has none."""
    for name, team, keywords in ROUTING_RULES:
        do_create_rule(
            session,
            workspace_id,
            {
                "name": name,
                "match": "any",
                "conditions": [{"field": "keywords", "op": "any", "value": keywords}],
                "actions": {"team": team},
            },
        )


def seed_macros(session: Session, workspace_id: int) -> None:
    for spec in DEMO_MACROS:
        do_create_macro(
            session,
            workspace_id,
            name=spec["name"],
            body=spec["body"],
            variants=spec.get("variants"),
            actions=spec.get("actions"),
        )


def seed_knowledge_base(
    session: Session, workspace_id: int, folder: Path = DEMO_KB
) -> ImportReport | None:
    """Import whatever articles ``folder`` holds, published; a broken file is skipped."""
    if not folder.is_dir():
        log.warning("no demo knowledge base at %s: the help center starts empty", folder)
        return None
    report = import_folder(session, workspace_id, folder, status="published")
    for line in report.skipped:
        log.warning("demo knowledge base: skipped %s", line)
    log.info(
        "demo knowledge base: %s article versions imported, %s skipped",
        report.imported,
        len(report.skipped),
    )
    return report


def warm_knowledge_index(runtime: Runtime, workspace_id: int) -> threading.Thread:
    """Build the workspace's search index (and load the models) in a background thread, so
    the first chat message does not wait for it."""

    def warm() -> None:
        started = time.perf_counter()
        try:
            with runtime.db.read() as session:
                index = runtime.knowledge.index(session, workspace_id)
                index.search("hello", "en", k=1)  # loads the query side of the models too
        except Exception:
            log.exception("could not build the demo's search index; the first message will")
            return
        log.info(
            "search index of the demo workspace ready: %s articles, in %.1f s",
            len(index.article_ids),
            time.perf_counter() - started,
        )

    thread = threading.Thread(target=warm, daemon=True, name="kb-warmup")
    thread.start()
    return thread


def _seed_conversations(session: Session, workspace: Workspace, teams: dict[str, Team]) -> None:
    lena = session.scalar(
        select(Agent).where(Agent.email == AGENT_EMAIL, Agent.workspace_id == workspace.id)
    )
    assert lena is not None
    for spec in CONVERSATIONS:
        customer = Customer(workspace_id=workspace.id, language=spec["language"])
        session.add(customer)
        session.flush()
        do_update_customer(
            session,
            customer,
            actor=Actor.system(),
            name=spec["name"],  # type: ignore[arg-type]
            email=spec["email"],  # type: ignore[arg-type]
            attributes=spec["attributes"],  # type: ignore[arg-type]
        )
        result = record(
            session,
            InboundMessage(
                workspace_id=workspace.id,
                channel="chat",
                customer_id=customer.id,
                text=str(spec["text"]),
                page_url=f"https://www.northwind.example{spec['page']}",
            ),
            max_chars=10_000,
        )
        from frontdesk.conversations.actions import access_conversation

        conversation = access_conversation(session, workspace.id, result.conversation_id)
        conversation.language = spec["language"]  # type: ignore[assignment]
        team_slug = spec["team"]
        if team_slug:
            team = teams[str(team_slug)]
            do_assign(
                session, conversation, team_id=team.id, assignee_id=None, actor=Actor.system()
            )
        elif not spec["reply"]:  # waiting for a person, routed nowhere yet: in triage
            do_hand_off(session, conversation, reason="human_request", actor=Actor.system())
        do_change_priority(session, conversation, str(spec["priority"]), actor=Actor.system())
        if spec["reply"]:
            if conversation.team_id not in (None, teams["tech"].id, teams["workshop"].id):
                do_assign(
                    session, conversation, team_id=None, assignee_id=None, actor=Actor.system()
                )
            do_send_agent_reply(session, conversation, lena, body=str(spec["reply"]))
            do_add_note(
                session, conversation, lena, body="Checked the order history: nothing unusual."
            )
        if spec.get("resolve"):
            do_change_status(session, conversation, "resolved", actor=Actor("agent", lena.id))


SITE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Northwind Bikes</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0;color:#1f2937;background:#f8fafc}}
header{{background:#0f766e;color:white;padding:2rem 1.5rem}}
main{{max-width:46rem;margin:2rem auto;padding:0 1.5rem;line-height:1.6}}
.card{{background:white;border-radius:12px;padding:1.25rem;box-shadow:0 1px 3px #0002;margin:1rem 0}}
pre{{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}}
</style></head>
<body><header><h1>Northwind Bikes</h1><p>E-bikes for cities, hills and cargo.</p></header>
<main>
<div class="card"><h2>Need help?</h2><p>Open the chat in the corner: our team answers in
English, ไทย, Ελληνικά, 中文, Bahasa Indonesia, Español and Deutsch.</p></div>
<div class="card"><h2>This page is another website</h2><p>It is served from {origin}, while
Frontdesk runs at {base}: the widget below is the same snippet a company pastes into its site.</p>
<pre>{snippet}</pre></div>
</main>
{raw_snippet}
</body></html>
"""


def widget_snippet(base_url: str, workspace_slug: str) -> str:
    return f'<script src="{base_url}/widget.js" data-workspace="{workspace_slug}" async></script>'


def start_demo_site(
    host: str, port: int, *, base_url: str, workspace_slug: str
) -> ThreadingHTTPServer:
    snippet = widget_snippet(base_url, workspace_slug)
    page = SITE_PAGE.format(
        origin=f"http://{host}:{port}",
        base=base_url,
        snippet=html.escape(snippet),
        raw_snippet=snippet,
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="demo-site").start()
    return server
