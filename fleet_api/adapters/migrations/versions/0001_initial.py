"""Initial schema: deliveries, their history, the custody chain and its head, counters, notifications.

Exactly what ``metadata.create_all`` made before migrations existed (same names, types, indexes),
so databases from that time are stamped at this revision and continue from here.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("robot_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_deliveries_state", "deliveries", ["state"])
    op.create_index("ix_deliveries_robot_id", "deliveries", ["robot_id"])
    op.create_index("ix_deliveries_created_at", "deliveries", ["created_at"])

    op.create_table(
        "delivery_history",
        sa.Column("delivery_id", sa.String(64), sa.ForeignKey("deliveries.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )

    op.create_table(
        "custody_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("delivery_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("robot_id", sa.String(64), nullable=True),
        sa.Column("compartment_id", sa.Integer, nullable=True),
        sa.Column("place_id", sa.String(64), nullable=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_custody_events_delivery_id", "custody_events", ["delivery_id"])

    op.create_table(
        "custody_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )

    op.create_table(
        "delivery_counters",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("place_id", sa.String(64), nullable=False),
        sa.Column("delivery_id", sa.String(64), nullable=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("text_zh", sa.Text, nullable=False),
        sa.Column("text_en", sa.Text, nullable=False),
        sa.Column("read", sa.Boolean, nullable=False),
    )
    op.create_index("ix_notifications_place_id", "notifications", ["place_id"])


def downgrade() -> None:
    for index, table in [
        ("ix_notifications_place_id", "notifications"),
        ("ix_custody_events_delivery_id", "custody_events"),
        ("ix_deliveries_created_at", "deliveries"),
        ("ix_deliveries_robot_id", "deliveries"),
        ("ix_deliveries_state", "deliveries"),
    ]:
        op.drop_index(index, table_name=table)
    for table in ["notifications", "delivery_counters", "custody_head", "custody_events", "delivery_history", "deliveries"]:
        op.drop_table(table)
