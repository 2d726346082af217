"""The data-migration tests' old databases.

Such a test fills a database at an earlier migration state, then migrates it to the head.
Migrating the test database back to that state cost most of each such test: Django renders
the whole project's state again for every migration it unapplies (three quarters of a
20-second test). Here each state is built once per test process instead, forward from an
empty database, and kept as a template (PostgreSQL) or a file (SQLite); the test works on
a copy of it, in a database of its own, and the test database stays at the head, untouched.

The state is the one migrating the test database back would reach: every migration except
those `migrate(targets)` would unapply from the head. Its rows are those `manage.py migrate`
leaves there: the data migrations' and, as after every migrate, the content types and
permissions of that state's models. A state is built from the largest one already built
that it contains (or from empty: most of today's states contain no other, so a process pays
about a forward migrate per state it meets, against the several a migration back cost).
A test takes one such database (`at` once per test).
"""

import shutil
from pathlib import Path

from django.core.management.sql import emit_post_migrate_signal
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor


def _switch_to(name: str) -> None:
    """Point the default connection (and so every query of the test) at database `name`;
    every connection of this thread is closed, a replica mirroring the default too."""
    connections.close_all()
    connection.settings_dict["NAME"] = name


class OldDatabases:
    """One test process's built states: {set of applied migrations: template's name}."""

    def __init__(self) -> None:
        self.built: dict[frozenset, str] = {}
        self.copies: list[str] = []
        self.head = ""

    # --- names and copies, by database --------------------------------------------------

    def _name(self, suffix: str) -> str:
        if connection.vendor == "sqlite":
            path = Path(self.head)
            return str(path.with_name(f"{path.stem}-{suffix}{path.suffix}"))
        name = f"{self.head}_{suffix}"
        # PostgreSQL would cut a longer name, which could then be the test database's own.
        assert len(name.encode()) <= 63, f"test database name too long for copies: {name}"
        return name

    def _drop(self, name: str) -> None:
        if connection.vendor == "sqlite":
            Path(name).unlink(missing_ok=True)
            return
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _copy(self, source: str | None, target: str) -> None:
        """`target` as a copy of `source`, or empty (None)."""
        self._drop(target)
        if connection.vendor == "sqlite":
            if source is not None:
                shutil.copyfile(source, target)
            return
        template = f' TEMPLATE "{source}"' if source is not None else " TEMPLATE template0"
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{target}"{template}')

    # --- states ---------------------------------------------------------------------------

    def _state(self, targets) -> frozenset:
        """The migrations applied once `migrate(targets)` ran on the test database."""
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(targets)
        assert all(backwards for _, backwards in plan), "the test database is at the head"
        undone = {(migration.app_label, migration.name) for migration, _ in plan}
        return frozenset(executor.loader.graph.nodes) - undone

    def _build(self, state: frozenset) -> str:
        base = max((known for known in self.built if known <= state), key=len, default=None)
        builder = self._name("build")
        self._copy(self.built.get(base), builder)
        _switch_to(builder)
        try:
            executor = MigrationExecutor(connection)
            graph = executor.loader.graph
            leaves = [
                node for node in state
                if not any(child.key in state and child.key[0] == node[0]
                           for child in graph.node_map[node].children)
            ]  # fmt: skip
            after = executor.migrate(leaves)
            emit_post_migrate_signal(0, False, connection.alias, apps=after.apps, plan=[])
            template = self._name(f"at{len(self.built)}")
            _switch_to(self.head)
            self._copy(builder, template)
        finally:
            _switch_to(self.head)
            self._drop(builder)
        self.built[state] = template
        return template

    def at(self, targets) -> MigrationExecutor:
        """Point the connection at a new copy of the database at `targets`' state."""
        self.head = self.head or connection.settings_dict["NAME"]
        assert not self.copies, "one old database per test: the state is worked out at the head"
        state = self._state(targets)
        template = self.built.get(state) or self._build(state)
        copy = self._name(f"run{len(self.copies)}")
        self._copy(template, copy)
        self.copies.append(copy)
        _switch_to(copy)
        executor = MigrationExecutor(connection)
        assert set(executor.loader.applied_migrations) == state
        return executor

    def back_to_head(self) -> None:
        """Point the connection at the test database again and drop the test's copies."""
        if self.head and connection.settings_dict["NAME"] != self.head:
            _switch_to(self.head)
        while self.copies:
            self._drop(self.copies.pop())

    def drop_all(self) -> None:
        self.back_to_head()
        for template in self.built.values():
            self._drop(template)
        self.built.clear()
