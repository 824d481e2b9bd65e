"""Config loading: validation with key paths, env expansion, token safety."""

from pathlib import Path

import pytest
import yaml

from bot.config import ConfigError, load_config, parse_config
from bot.ui.reply import RenderSettings

ROOT = Path(__file__).parent.parent
TOKEN = "987654321:AAFakeTokenForTestsOnly_abcdefghijk"


def problems(data, **kw):
    with pytest.raises(ConfigError) as info:
        parse_config(data, **kw)
    return info.value.problems


def test_example_config_is_valid_once_a_token_is_given():
    cfg = load_config(ROOT / "config" / "example.yaml", environ={"ARCHIVE_BOT_TOKEN": TOKEN})
    assert cfg.telegram.token == TOKEN
    assert cfg.archive.db == str((ROOT / "data" / "archive.db").resolve())
    assert cfg.archive.index_path.endswith("archive.db.index")
    assert cfg.aliases["resnet"] == "残差网络"


def test_example_placeholder_token_is_refused():
    with pytest.raises(ConfigError) as info:
        load_config(ROOT / "config" / "example.yaml", environ={})
    assert any(p.startswith("telegram.token:") and "placeholder" in p for p in info.value.problems)


def test_every_problem_is_reported_with_its_key_path():
    found = problems({
        "telegram": {"token": TOKEN, "poll_timeout": "soon", "mode": "carrier-pigeon", "webhook": {"port": "x"}},
        "answers": {"per_message": True},
        "colour": "blue",
        "admins": ["me"],
    })
    joined = "\n".join(found)
    for key in ("telegram.poll_timeout:", "telegram.mode:", "telegram.webhook.port:", "answers.per_message:",
                "colour: unknown key", "admins[0]:"):
        assert key in joined, key


def test_semantic_checks_name_the_key():
    found = problems({"telegram": {"token": TOKEN, "mode": "webhook"}, "answers": {"chars": 0}})
    assert any(p.startswith("telegram.webhook.public_url:") for p in found)
    assert any(p.startswith("telegram.webhook.secret_token:") for p in found)


def test_environment_variables_are_expanded_and_missing_ones_reported():
    cfg = parse_config({"telegram": {"token": "${T}"}}, environ={"T": TOKEN})
    assert cfg.telegram.token == TOKEN
    found = problems({"telegram": {"token": "${NOT_SET_ANYWHERE}"}}, environ={})
    assert found[0].startswith("telegram.token: environment variable NOT_SET_ANYWHERE is not set")


def test_token_never_appears_in_errors_or_repr():
    secret = "555:SECRET_should_never_be_printed"
    with pytest.raises(ConfigError) as info:
        parse_config({"telegram": {"token": secret, "mode": 5}, "locale": 3}, environ={})
    assert "SECRET" not in str(info.value) and "SECRET" not in info.value.report()
    cfg = parse_config({"telegram": {"token": secret}}, environ={})
    assert "SECRET" not in repr(cfg)


def test_broken_yaml_reports_line_and_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("telegram:\n  token: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in info.value.report() and "line" in info.value.problems[0]


def test_missing_file_is_reported():
    with pytest.raises(ConfigError, match="file not found"):
        load_config("/nonexistent/archive-bot.yaml")


def test_matcher_keys_are_checked_against_the_matcher_settings():
    found = problems({"matcher": {"answer_treshold": 70, "margin": "wide"}}, require_token=False)
    assert any(p.startswith("matcher.answer_treshold: unknown key") for p in found)
    assert any(p.startswith("matcher.margin:") and "number" in p for p in found)


def test_a_value_from_the_environment_is_converted_to_the_type_it_is_validated_as():
    cfg = parse_config({"matcher": {"answer_threshold": "${T:-80}"}}, require_token=False, environ={})
    assert cfg.matcher.answer_threshold == 80.0 and isinstance(cfg.matcher.answer_threshold, float)
    cfg = parse_config({"telegram": {"webhook": {"port": "${P}"}}}, require_token=False, environ={"P": "9000"})
    assert cfg.telegram.webhook.port == 9000


def test_the_renderers_bounds_are_the_configs_bounds():
    found = problems({"answers": {"chars": 20, "max_related": 50, "per_message": 11}}, require_token=False)
    assert {p.split(":")[0] for p in found} == {"answers.chars", "answers.max_related", "answers.per_message"}
    cfg = parse_config({"answers": {"chars": 40, "max_related": 20, "per_message": 10}}, require_token=False)
    RenderSettings.from_config(cfg)  # what the config accepts, the renderer accepts


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_nan_and_infinity_are_refused(value):
    data = yaml.safe_load(f"telegram: {{overall_max_rate: {value}}}\nmatcher: {{margin: {value}}}")
    found = problems(data, require_token=False)
    assert any(p.startswith("telegram.overall_max_rate:") for p in found)
    assert any(p.startswith("matcher.margin:") for p in found)


def test_type_and_range_errors_are_reported_together():
    found = problems({"telegram": {"poll_timeout": "soon", "max_retries": -1}, "answers": {"chars": 5}},
                     require_token=False)
    assert {p.split(":")[0] for p in found} == {"telegram.poll_timeout", "telegram.max_retries", "answers.chars"}


def test_booleans_are_not_numbers():
    found = problems({"telegram": {"poll_timeout": True}}, require_token=False)
    assert found and found[0].startswith("telegram.poll_timeout:")


def test_a_token_pasted_into_another_key_is_not_printed():
    secret = "555:SECRET_in_the_wrong_place"
    with pytest.raises(ConfigError) as info:
        parse_config({"telegram": {"base_url": secret, "poll_timeout": secret}, "locale": secret},
                     require_token=False)
    assert len(info.value.problems) == 3
    assert "SECRET" not in info.value.report()


@pytest.mark.parametrize("template", ["https://x/{title.nope}", "https://x/{nope}", "https://x/{", "ftp://x/{id}"])
def test_a_bad_url_template_is_a_config_error(template):
    found = problems({"site": {"url_template": template}}, require_token=False)
    assert found[0].startswith("site.url_template:")


def test_an_empty_section_takes_its_defaults():
    cfg = parse_config({"matcher": None, "answers": None, "admins": None}, require_token=False)
    assert cfg.answers.per_message == 3 and cfg.admins == ()
