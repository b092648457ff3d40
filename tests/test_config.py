from pathlib import Path

import pytest

from affectwatch.config import Config
from affectwatch.exceptions import ConfigError


def test_defaults_point_at_local_services() -> None:
    c = Config.from_env({})
    assert c.database_url.startswith("postgresql://") and "127.0.0.1" in c.database_url
    assert c.redis_url == "redis://127.0.0.1:6379/0"
    assert c.sample_fps == 2.0


def test_values_are_parsed_and_typed() -> None:
    c = Config.from_env({"AFFECTWATCH_QUEUE_MAX": "7", "AFFECTWATCH_LOOP_FILES": "no",
                         "AFFECTWATCH_NEGATIVE_LABELS": "Sadness, fear"})
    assert c.queue_max == 7 and c.loop_files is False
    assert c.negative_labels == frozenset({"sad", "fear"})


@pytest.mark.parametrize(("var", "value"), [("AFFECTWATCH_QUEUE_MAX", "many"),
                                            ("AFFECTWATCH_QUEUE_MAX", "0"),
                                            ("AFFECTWATCH_FACE_THRESHOLD", "1.5"),
                                            ("AFFECTWATCH_LOOP_FILES", "perhaps"),
                                            ("AFFECTWATCH_NEGATIVE_LABELS", "grumpy")])
def test_malformed_value_names_the_variable(var: str, value: str) -> None:
    with pytest.raises(ConfigError, match=var):
        Config.from_env({var: value})


def test_secret_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "url"
    secret.write_text("postgresql://u:pw@db:5432/aw\n")
    c = Config.from_env({"AFFECTWATCH_DATABASE_URL_FILE": str(secret)})
    assert c.database_url == "postgresql://u:pw@db:5432/aw"


def test_unreadable_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AFFECTWATCH_SECRET_KEY_FILE"):
        Config.from_env({"AFFECTWATCH_SECRET_KEY_FILE": str(tmp_path / "missing")})


def test_every_setting_is_described() -> None:
    assert all(doc for _, _, doc in Config.describe())


def test_readme_lists_every_setting() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [var for var, _, _ in Config.describe() if f"`{var}`" not in readme]
    assert not missing, f"README.md does not list {missing}"
