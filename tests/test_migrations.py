import psycopg
import pytest

from affectwatch.config import Config
from affectwatch.migrate import discover, migrate


def test_migrations_are_numbered_and_recorded(config: Config) -> None:
    with psycopg.connect(config.database_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [m.version for m in discover()]


def test_migrate_again_applies_nothing(config: Config) -> None:
    assert migrate(config) == []


def test_face_probabilities_must_sum_to_one(config: Config) -> None:
    with psycopg.connect(config.database_url) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO faces (frame_id, face_index, captured_at, box_x1, box_y1, box_x2, box_y2, det_prob,"
            " expression, confidence, p_happy, p_sad, model) VALUES (gen_random_uuid(), 0, now(), 0, 0, 10, 10,"
            " 0.99, 'happy', 0.9, 0.9, 0.5, 'm')"
        )
