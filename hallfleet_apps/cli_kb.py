"""``hallfleet kb``: load a hall's own service catalog and ask the knowledge base a question.

Thin adapter over hallfleet.knowledge: a bad catalog becomes one line per problem on stderr and
exit code 1 with nothing written, so whoever edits the file sees every row to fix at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from hallfleet.knowledge import (
    CATALOG_FILE_NAME,
    Catalog,
    CatalogError,
    KnowledgeBase,
    KnowledgeBaseError,
    LanguageError,
    dump_catalog,
    effective_catalog_path,
    read_catalog,
)
from hallfleet.paths import DEFAULT_SITE

kb_app = typer.Typer(
    help="The guidance knowledge base: import a hall's service catalog, ask questions.", no_args_is_help=True
)

DataDir = Annotated[Path, typer.Option("--data-dir", help="the hall's data dir (as for `hallfleet demo`)")]
SiteDir = Annotated[Path, typer.Option("--site", help="site folder whose shipped catalog is the default")]


@kb_app.command("import")
def import_catalog(
    file: Annotated[Path, typer.Argument(help="catalog file: .yaml/.yml or .csv (see docs/knowledge_base.md)")],
    data_dir: DataDir = Path("data"),
    site: SiteDir = DEFAULT_SITE,
) -> None:
    """Validate every row and write DATA_DIR/service_items.yaml; any bad row: exit 1, nothing written."""
    try:
        catalog = read_catalog(file)
    except CatalogError as exc:
        for problem in exc.problems:
            typer.echo(f"{exc.source}: {' '.join(problem.split())}", err=True)
        typer.echo(f"rejected: nothing written ({len(exc.problems)} problem(s))", err=True)
        raise typer.Exit(1) from None
    if not catalog.hall_info:  # toilets, opening hours...: the building's, kept from the site's catalog
        shipped = site / CATALOG_FILE_NAME
        if shipped.is_file():
            try:
                catalog = Catalog(catalog.items, read_catalog(shipped).hall_info, catalog.source, catalog.extra)
            except CatalogError:
                pass
    text = dump_catalog(catalog)
    target = data_dir / CATALOG_FILE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".yaml.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)  # atomic: a reader never sees half a catalog
    typer.echo(f"imported {len(catalog.items)} service items from {file} into {target}")


@kb_app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="the visitor's question, Chinese or English")],
    catalog: Annotated[
        Optional[Path], typer.Option("--catalog", help="catalog file; default: the hall's effective one")
    ] = None,
    language: Annotated[str, typer.Option(help="answer language: auto, zh-CN or en")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object {item, asks, answer}")] = False,
    data_dir: DataDir = Path("data"),
    site: SiteDir = DEFAULT_SITE,
) -> None:
    """Answer one question from the catalog (or abstain and offer a human helper)."""
    path = catalog or effective_catalog_path(data_dir, site)
    try:
        answer = KnowledgeBase.load(path).answer(question, language)
    except (KnowledgeBaseError, LanguageError) as exc:
        typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({"item": answer.item_id, "asks": answer.asks, "answer": answer.text}, ensure_ascii=False))
    else:
        typer.echo(answer.text)
