"""Alembic environment: migrate the connection the store hands over, or a URL given on the command line.

Programmatic use (the store): ``config.attributes["connection"]``. By hand, e.g. to write a new
revision against a scratch database::

    alembic -c fleet_api/adapters/migrations/alembic.ini -x url=sqlite:////tmp/scratch.db revision --autogenerate -m "..."
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from fleet_api.adapters.store import metadata


def _run(connection: sa.engine.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things in place
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("alembic: give the database as -x url=<SQLAlchemy URL>")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("alembic: offline (--sql) mode is not supported; migrate a real database")
_main()
