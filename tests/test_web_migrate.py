"""Schema migrations: a database made by the release before migrations upgrades in place and keeps its data; a
new database is created at the head revision; a second start changes nothing."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from colorize.web import ServeConfig, create_app
from colorize.web.db import Base, Database, Result, Vote
from colorize.web.migrate import alembic_config, current_revision, head_revision, upgrade_schema
from web_legacy import COMPARISON_ID, RESULT_IDS, build_legacy_database
from web_support import make_client, tiny_colorizer, upload


@pytest.fixture(scope="module")
def colorizers():
    return [tiny_colorizer("tiny-a", seed=1), tiny_colorizer("tiny-b", seed=2)]


def schema_of(engine) -> dict:
    """Tables -> (sorted columns with type and nullability, sorted index names with uniqueness)."""
    found = inspect(engine)
    return {table: (sorted((c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)),
                    sorted((i["name"], bool(i["unique"])) for i in found.get_indexes(table)))
            for table in found.get_table_names() if table != "alembic_version"}


def check_upgrade_keeps_the_data(url: str, tmp_path, colorizers) -> None:
    build_legacy_database(url)
    with make_client(tmp_path, colorizers, db=url) as client:
        database = client.app.state.services.db
        assert current_revision(database.engine) == head_revision()
        # Old rows are all there, with a model identity derived from their name.
        with database.session() as session:
            hashes = dict(session.execute(text("SELECT id, model_hash FROM results")).all())
            vote = session.scalars(select(Vote)).one()
        assert hashes == {RESULT_IDS[0]: "name:old-a", RESULT_IDS[1]: "name:old-b"}
        assert (vote.comparison_id, vote.left_model_hash, vote.right_model_hash) == (COMPARISON_ID, "name:old-a",
                                                                                     "name:old-b")
        board = client.get("/api/leaderboard").json()
        assert board["total_votes"] == 1
        assert {m["model"]: m["votes"] for m in board["models"]}["old-a"] == 1
        stats = {m["name"]: m["ratings"]["count"] for m in client.get("/api/models").json()}
        assert stats["old-a"] == 1 and stats["old-b"] == 1
        # Uploads from before owners existed were public; now they belong to nobody, so nobody sees them.
        assert client.get("/api/results").json() == []
        assert client.get(f"/api/results/{RESULT_IDS[0]}").status_code == 404
        assert upload(client)["model"] == "tiny-a"  # and the upgraded database takes new work
    # A second start finds the head revision and leaves everything as it is.
    with make_client(tmp_path, colorizers, db=url) as client:
        assert client.get("/api/leaderboard").json()["total_votes"] == 1


def test_release_sqlite_database_upgrades_in_place(tmp_path, colorizers):
    check_upgrade_keeps_the_data(f"sqlite:///{tmp_path / 'old.db'}", tmp_path, colorizers)


def test_new_database_matches_the_models_exactly(tmp_path):
    migrated = Database(f"sqlite:///{tmp_path / 'new.db'}")
    migrated.create_schema()
    declared = Database("sqlite://")
    Base.metadata.create_all(declared.engine)
    assert schema_of(migrated.engine) == schema_of(declared.engine)
    assert current_revision(migrated.engine) == head_revision()


def test_upgraded_release_database_matches_a_new_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    build_legacy_database(url)
    upgraded = Database(url)
    upgraded.create_schema()
    fresh = Database(f"sqlite:///{tmp_path / 'new.db'}")
    fresh.create_schema()
    assert schema_of(upgraded.engine) == schema_of(fresh.engine)


def test_app_creates_a_fresh_database_at_head(tmp_path, colorizers):
    create_app(ServeConfig(storage=str(tmp_path / "data")), colorizers=colorizers)
    database = Database(f"sqlite:///{tmp_path / 'data' / 'colorize.db'}")
    assert current_revision(database.engine) == head_revision()


def test_previous_revision_upgrades_to_guided_results_and_back(tmp_path):
    """A database at 0002 (before hints): its results become automatic ones, the unique index now includes the
    hints, so a guided result of the same upload and model fits beside them; a downgrade drops the guided ones."""
    from colorize.web import repository
    from colorize.web.processing import StoredResult
    from colorize.web.repository import AlreadyColorized

    url = f"sqlite:///{tmp_path / 'old.db'}"
    build_legacy_database(url)
    database = Database(url)
    upgrade_schema(database.engine, "0002")
    assert current_revision(database.engine) == "0002"
    database.create_schema()
    assert current_revision(database.engine) == head_revision()
    indexes = {i["name"]: i for i in inspect(database.engine).get_indexes("results")}
    assert "uq_results_upload_model" not in indexes
    assert indexes["uq_results_upload_model_hints"]["column_names"] == ["upload_id", "model_hash", "hints_key"]
    with database.session() as session:
        old = session.get(Result, RESULT_IDS[0])
        assert (old.hints, old.hints_key, old.guided) == (None, "", False)
        hints = [{"x": 1.0, "y": 2.0, "color": "#c03020", "radius": 2}]
        stored = StoredResult(model="old-a", file="gg/guided.png", preview_file="gg/guided.jpg", seconds=0.1,
                              model_hash=old.model_hash)
        guided = repository.add_result(session, old.upload_id, stored, "guided", hints, "k" * 64)
        assert guided.hints == hints and guided.guided
        with pytest.raises(AlreadyColorized):
            repository.add_result(session, old.upload_id, stored, "guided", hints, "k" * 64)
        repository.add_rating(session, guided, 5, "", "owner")
    with database.engine.begin() as conn:  # downgrade: the guided result and its rating go, the rest stays
        command.downgrade(alembic_config(conn), "0002")
    with database.engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT id FROM results")).scalars()) == sorted(RESULT_IDS)
        assert conn.execute(text("SELECT COUNT(*) FROM ratings")).scalar() == 2
    database.dispose()
