"""Suggestions-while-typing benchmark: the widget's ``/suggestions`` endpoint over HTTP.

Starts one ``frontdesk serve`` on a SQLite file on loopback (as ``benchmarks/chat_load.py``
does), imports one or more knowledge-base folders into a fresh workspace (by default the Helios
knowledge base and the demo's own: about 55 articles, so past the 40 the issue names; the demo's
alone when ../shared is absent), opens a widget session and asks for suggestions the way the
widget does while a customer types: every 8-character prefix of each Helios dev message (or of
the demo's titles), in its language. The first request builds the index (it embeds the
articles) and is reported apart.

Reported: p50 / p95 / max of the request time seen by the client (keep-alive connection on
loopback: the endpoint, detection, the index's one-model search and the JSON), the number of
articles and versions, and how many requests returned nothing.

    .venv/bin/python -m benchmarks.suggestions
    .venv/bin/python -m benchmarks.suggestions --json
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress

from benchmarks.chat_load import create_fixture, percentile, start_cluster

ROOT = Path(__file__).resolve().parents[1]
HELIOS = ROOT.parent / "shared" / "data" / "helios"
DEMO_KB = ROOT / "src" / "frontdesk" / "demo_kb"
STEP = 8  # characters typed between two requests (the widget debounces keystrokes)

console = Console(stderr=True)


def import_kbs(database_url: str, slug: str, folders: list[Path]) -> tuple[int, int]:
    """Import each folder into the workspace; the number of articles and of versions."""
    from sqlalchemy import func, select

    from frontdesk.knowledge.store import import_folder
    from frontdesk.store.database import Database
    from frontdesk.store.models import KbArticle, Workspace

    db = Database(database_url)
    try:
        with db.write() as session:
            workspace = session.scalars(select(Workspace).where(Workspace.slug == slug)).one()
            for folder in folders:
                report = import_folder(session, workspace.id, folder)
                for line in report.skipped:
                    console.print(f"[yellow]skipped[/] {line}")
            versions = session.scalar(
                select(func.count())
                .select_from(KbArticle)
                .where(KbArticle.workspace_id == workspace.id)
            )
            articles = session.scalar(
                select(func.count(func.distinct(KbArticle.key))).where(
                    KbArticle.workspace_id == workspace.id
                )
            )
        return int(articles or 0), int(versions or 0)
    finally:
        db.dispose()


def typed_prefixes(helios: Path | None) -> list[tuple[str, str]]:
    """(prefix, language) pairs: what a customer has typed at each request."""
    texts: list[tuple[str, str]] = []
    if helios is not None:
        for line in (helios / "dev.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append((row["text"], row.get("language") or "en"))
    else:
        from frontdesk.knowledge.articles import load_articles

        articles, _ = load_articles(DEMO_KB)
        texts = [(a.title, a.language) for a in articles]
    prefixes = []
    for text, language in texts:
        for end in range(STEP, len(text) + STEP, STEP):
            prefixes.append((text[:end], language))
    return prefixes


def run(base: str, slug: str, prefixes: list[tuple[str, str]]) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=60) as http:
        opened = http.post(f"/widget/v1/{slug}/session", json={})
        opened.raise_for_status()
        headers = {"Authorization": f"Bearer {opened.json()['session_token']}"}
        url = f"/widget/v1/{slug}/suggestions"
        started = time.perf_counter()
        http.get(url, params={"q": "warm up the index"}, headers=headers).raise_for_status()
        first = (time.perf_counter() - started) * 1000
        timings: list[float] = []
        empty = 0
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("suggestions", total=len(prefixes))
            for text, language in prefixes:
                started = time.perf_counter()
                answer = http.get(url, params={"q": text, "lang": language}, headers=headers)
                timings.append((time.perf_counter() - started) * 1000)
                answer.raise_for_status()
                empty += not answer.json()["articles"]
                progress.advance(task)
    return {
        "requests": len(timings),
        "empty": empty,
        "first_request_ms": round(first, 1),
        "latency_ms": {
            "p50": round(statistics.median(timings), 1),
            "p95": round(percentile(timings, 95), 1),
            "max": round(max(timings), 1),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--kb",
        type=Path,
        action="append",
        help="a knowledge-base folder to import (repeatable; default: Helios and the demo's)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    helios = HELIOS if (HELIOS / "kb").is_dir() else None
    folders = args.kb or ([helios / "kb"] if helios else []) + [DEMO_KB]

    command = shlex.join([Path(sys.executable).name, "-m", "benchmarks.suggestions", *sys.argv[1:]])
    console.print(f"[bold]command:[/bold] {command}")
    workdir = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    console.print(f"starting the server (logs in {workdir}) …")
    cluster = start_cluster("sqlite", workdir, "", "")
    try:
        fx = create_fixture(cluster.database_url)
        articles, versions = import_kbs(cluster.database_url, fx.slug, folders)
        result = run(cluster.servers[0].url, fx.slug, typed_prefixes(helios))
    finally:
        cluster.stop()
    result = {"command": command, "articles": articles, "versions": versions, **result}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        lat = result["latency_ms"]
        console.print(
            f"{result['requests']} suggestion requests on {articles} articles ({versions} "
            f"versions): p50 {lat['p50']} ms · p95 {lat['p95']} ms · max {lat['max']} ms; "
            f"first request (builds the index) {result['first_request_ms']} ms; "
            f"{result['empty']} with no suggestion"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
