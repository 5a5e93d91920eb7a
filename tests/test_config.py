import pytest

from parley.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("PARLEY_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_embedded_model():
    settings = load_settings()
    assert settings.model.source == "smollm2-135m-instruct"
    assert settings.model.engine == "auto"
    assert settings.generation.temperature == 0.6


def test_file_then_environment_then_flags(monkeypatch, tmp_path):
    config = tmp_path / "parley.toml"
    config.write_text(
        '[model]\nengine = "transformers"\nformat = "openchatkit"\n'
        "[generation]\ntemperature = 0.3\ntop_k = 10\n"
    )
    settings = load_settings()  # ./parley.toml is picked up
    assert settings.model.engine == "transformers"
    assert settings.generation.top_k == 10

    monkeypatch.setenv("PARLEY_GENERATION__TEMPERATURE", "0.9")
    monkeypatch.setenv("PARLEY_MODEL__ENGINE", "llama.cpp")
    settings = load_settings()
    assert settings.generation.temperature == 0.9
    assert settings.model.engine == "llama.cpp"
    assert settings.model.format == "openchatkit"  # untouched file value survives

    settings = load_settings(overrides={"generation": {"temperature": 0.1, "top_p": None}})
    assert settings.generation.temperature == 0.1
    assert settings.generation.top_k == 10
    assert settings.model.engine == "llama.cpp"


def test_explicit_and_env_config_paths(monkeypatch, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text("[generation]\nmax_new_tokens = 77\n")
    assert load_settings(other).generation.max_new_tokens == 77
    monkeypatch.setenv("PARLEY_CONFIG", str(other))
    assert load_settings().generation.max_new_tokens == 77
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_bad_values_say_where_and_what(tmp_path):
    config = tmp_path / "parley.toml"
    config.write_text("[generation]\ntemperature = 9\n[model]\nengine = 'vllm'\n")
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "generation.temperature: Input should be less than or equal to 5 (got 9)" in message
    assert "model.engine: Input should be 'auto', 'transformers', 'llama.cpp'" in message
    assert "(got 'vllm')" in message


def test_unknown_keys_are_refused(tmp_path):
    (tmp_path / "parley.toml").write_text("[model]\nsorce = 'x'\n")
    with pytest.raises(ConfigError, match=r"model\.sorce: unknown setting"):
        load_settings()


def test_invalid_toml_is_reported(tmp_path):
    (tmp_path / "parley.toml").write_text("[model\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_bad_env_value_is_reported(monkeypatch):
    monkeypatch.setenv("PARLEY_GENERATION__TOP_P", "2")
    with pytest.raises(ConfigError, match=r"generation\.top_p"):
        load_settings()


def test_gpu_ids_must_be_integers():
    with pytest.raises(ConfigError, match="GPU ids must be integers"):
        load_settings(overrides={"model": {"gpu_memory": {"a": "1GiB"}}})


def test_a_misspelt_environment_section_is_refused(monkeypatch):
    monkeypatch.setenv("PARLEY_MODLE__SOURCE", "x")
    with pytest.raises(ConfigError, match="PARLEY_MODLE__SOURCE: unknown section"):
        load_settings()
    monkeypatch.delenv("PARLEY_MODLE__SOURCE")
    monkeypatch.setenv("PARLEY_CHROMIUM", "/usr/bin/chromium")  # not a settings variable
    monkeypatch.setenv("PARLEY_MODEL__SOURCE", "some-model")
    assert load_settings().model.source == "some-model"
