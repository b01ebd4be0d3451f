"""The project database schema and its migrations. `PRAGMA user_version` is the schema version;
each migration runs in its own transaction, so a project opened by a newer app upgrades in place and
an interrupted upgrade leaves the old version intact."""

from __future__ import annotations

import sqlite3

STATES = ("new", "predicted", "corrected", "reviewed")
HUMAN_STATES = ("corrected", "reviewed")


# Each entry is the SQL that takes the schema from version i to i + 1.
_V1 = """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE images (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            width INTEGER,
            height INTEGER,
            state TEXT NOT NULL DEFAULT 'new'
                CHECK (state IN ('new', 'predicted', 'corrected', 'reviewed')),
            uncertainty REAL,
            added TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE INDEX images_state ON images (state);
        CREATE TABLE history (
            id INTEGER PRIMARY KEY,
            time TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            image_id INTEGER REFERENCES images (id) ON DELETE SET NULL,
            action TEXT NOT NULL,
            detail TEXT
        );
        CREATE TABLE model_runs (
            id INTEGER PRIMARY KEY,
            created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            checkpoint TEXT NOT NULL,
            metrics TEXT,
            note TEXT
        );
"""

# 2: masks are named after their image (fcn_studio.project.mask_names); NULL until an old project's
# id-named files are moved, which happens when it is opened (MaskFiles._reconcile).
_V2 = """
        ALTER TABLE images ADD COLUMN mask_name TEXT;
        CREATE UNIQUE INDEX images_mask_name ON images (mask_name);
"""

MIGRATIONS = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(RuntimeError):
    pass


def migrate(db: sqlite3.Connection) -> int:
    """Brings the database to SCHEMA_VERSION; returns the version it had."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise SchemaError(f"the project was written by a newer FCN Studio (schema {version}, this app "
                          f"knows {SCHEMA_VERSION}); update the app to open it")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        # executescript would commit an open transaction first, so the script carries its own.
        try:
            db.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[target - 1]};\nPRAGMA user_version = {target};\nCOMMIT;")
        except sqlite3.Error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return version
