from datetime import time
from pathlib import Path

import pytest

from bot.app import rate_limiter_for
from bot.config import TELEGRAM_API_URL, ConfigError, load_settings
from tests.pace import REAL
from tgemu import EmulatorConfig

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


def test_defaults_need_nothing():
    s = load_settings({})
    assert s.sandbox
    assert s.api_url == TELEGRAM_API_URL
    assert str(s.tz) == "Asia/Shanghai"
    assert s.default_locale == "zh_Hans"
    assert s.digest_time == time(18, 0)
    assert s.db_path == Path("qingshou.db")


def test_all_variables_are_read():
    s = load_settings(
        {
            "QINGSHOU_BOT_TOKEN": TOKEN,
            "QINGSHOU_API_URL": "http://127.0.0.1:8081/bot",
            "QINGSHOU_DB": "/tmp/x.db",
            "QINGSHOU_TZ": "Asia/Taipei",
            "QINGSHOU_LANG": "zh-TW",
            "QINGSHOU_ADMINS": "42, 43",
            "QINGSHOU_DIGEST_TIME": "07:30",
        }
    )
    assert not s.sandbox
    assert s.token.reveal() == TOKEN
    assert s.file_url == "http://127.0.0.1:8081/file/bot"
    assert str(s.tz) == "Asia/Taipei"
    assert s.default_locale == "zh_Hant"
    assert s.admins == {42, 43}
    assert s.digest_time == time(7, 30)


def test_token_never_shows_in_repr_or_str():
    s = load_settings({"QINGSHOU_BOT_TOKEN": TOKEN})
    assert TOKEN not in repr(s)
    assert TOKEN not in str(s.token)
    assert TOKEN not in f"{s}"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("QINGSHOU_BOT_TOKEN", "not-a-token"),
        ("QINGSHOU_API_URL", "api.telegram.org/bot"),
        ("QINGSHOU_TZ", "Mars/Olympus"),
        ("QINGSHOU_LANG", "fr"),
        ("QINGSHOU_ADMINS", "12,abc"),
        ("QINGSHOU_ADMINS", "²"),
        ("QINGSHOU_API_URL", "http://127.0.0.1:9"),
        ("QINGSHOU_API_URL", "https://api.telegram.org/"),
        ("QINGSHOU_DIGEST_TIME", "25:00"),
        ("QINGSHOU_DIGEST_TIME", "6pm"),
        ("QINGSHOU_PER_CHAT_RATE", "0"),
        ("QINGSHOU_PER_CHAT_RATE", "fast"),
        ("QINGSHOU_OVERALL_RATE", "nan"),
        ("QINGSHOU_OVERALL_RATE", "inf"),
        ("QINGSHOU_PER_CHAT_BURST", "0"),
        ("QINGSHOU_PER_CHAT_BURST", "2.5"),
    ],
)
def test_a_wrong_value_names_its_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})


def test_dotenv_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("QINGSHOU_TZ=Asia/Taipei\nQINGSHOU_LANG=en\n")
    s = load_settings({"QINGSHOU_LANG": "zh_Hant"}, dotenv=env_file)
    assert str(s.tz) == "Asia/Taipei"
    assert s.default_locale == "zh_Hant"


def test_a_misspelt_variable_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"QINGSHOU_TOKEN: .*did you mean QINGSHOU_BOT_TOKEN"):
        load_settings({"QINGSHOU_TOKEN": TOKEN})


def test_api_url_may_end_with_a_slash():
    s = load_settings({"QINGSHOU_API_URL": "http://127.0.0.1:8081/bot/"})
    assert s.api_url == "http://127.0.0.1:8081/bot"


def test_telegrams_pace_is_the_default_of_the_bot_and_of_the_emulator():
    s = load_settings({})
    assert (s.per_chat_per_second, s.per_chat_burst, s.overall_per_second) == (1.0, 3, 30.0)
    assert REAL.settings() == {
        "per_chat_per_second": s.per_chat_per_second,
        "per_chat_burst": s.per_chat_burst,
        "overall_per_second": s.overall_per_second,
    }
    emulator = EmulatorConfig()
    assert REAL.emulator_config() == {
        "per_chat_rate": emulator.per_chat_rate,
        "per_chat_burst": emulator.per_chat_burst,
        "global_per_second": emulator.global_per_second,
    }


def test_the_pace_is_read_from_the_environment_and_kept_by_the_bots_limiter():
    s = load_settings(
        {
            "QINGSHOU_PER_CHAT_RATE": "50",
            "QINGSHOU_PER_CHAT_BURST": "5",
            "QINGSHOU_OVERALL_RATE": "1000",
        }
    )
    assert (s.per_chat_per_second, s.per_chat_burst, s.overall_per_second) == (50.0, 5, 1000.0)
    limiter = rate_limiter_for(s, backoff=0.2)
    assert (limiter._per_chat_rate, limiter._per_chat_burst) == (50.0, 5)
    assert limiter._per_window == 1000
    assert limiter._backoff == 0.2


def test_qingshou_db_keeps_a_postgresql_url_whole_and_refuses_an_unknown_scheme():
    from dataclasses import replace
    from pathlib import Path

    url = "postgresql://qs:pw@db.internal:5432/qingshou"
    s = load_settings({"QINGSHOU_DB": url})
    assert s.database == url  # not folded into a path ('postgresql:/qs:pw@...')
    assert s.on_postgres
    assert load_settings({"QINGSHOU_DB": "data/q.db"}).database == "data/q.db"
    # A file given later (--db, the sandbox's own) wins over the variable.
    assert replace(s, db_path=Path("other.db")).database == "other.db"
    with pytest.raises(ConfigError, match=r"QINGSHOU_DB: no storage backend for mysql://"):
        load_settings({"QINGSHOU_DB": "mysql://x/y"})


SECRET = "s3cret-webhook-token-0123456789"


def test_long_polling_is_the_default_and_the_instance_names_host_and_folder():
    s = load_settings({})
    assert s.webhook_url is None
    assert s.instance.endswith(f":{Path.cwd()}")
    assert load_settings({"QINGSHOU_INSTANCE": "replica-2"}).instance == "replica-2"


def test_webhook_mode_is_read_with_its_listen_address_and_a_masked_secret():
    s = load_settings(
        {
            "QINGSHOU_WEBHOOK_URL": "https://bot.example.com/qingshou/hook",
            "QINGSHOU_WEBHOOK_LISTEN": "0.0.0.0:9443",
            "QINGSHOU_WEBHOOK_SECRET": SECRET,
        }
    )
    assert s.webhook_url == "https://bot.example.com/qingshou/hook"
    assert s.webhook_path == "/qingshou/hook"
    assert s.webhook_listen == ("0.0.0.0", 9443)
    assert s.webhook_secret.reveal() == SECRET
    assert SECRET not in repr(s)
    # Two replicas on one machine: their default names differ by port.
    other = load_settings(
        {
            "QINGSHOU_WEBHOOK_URL": "https://bot.example.com/qingshou/hook",
            "QINGSHOU_WEBHOOK_LISTEN": "0.0.0.0:9444",
            "QINGSHOU_WEBHOOK_SECRET": SECRET,
        }
    )
    assert other.instance != s.instance
    # The emulator's plain http on this machine is accepted.
    local = load_settings(
        {"QINGSHOU_WEBHOOK_URL": "http://127.0.0.1:8443/h", "QINGSHOU_WEBHOOK_SECRET": SECRET}
    )
    assert local.webhook_listen == ("127.0.0.1", 8443)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"QINGSHOU_WEBHOOK_URL": "http://bot.example.com/h"}, "QINGSHOU_WEBHOOK_URL"),
        ({"QINGSHOU_WEBHOOK_URL": "https://bot.example.com/h?x=1"}, "QINGSHOU_WEBHOOK_URL"),
        ({"QINGSHOU_WEBHOOK_URL": "https://bot.example.com/h"}, "QINGSHOU_WEBHOOK_SECRET"),
        (
            {"QINGSHOU_WEBHOOK_URL": "https://b.example/h", "QINGSHOU_WEBHOOK_SECRET": "short"},
            "QINGSHOU_WEBHOOK_SECRET",
        ),
        (
            {
                "QINGSHOU_WEBHOOK_URL": "https://b.example/h",
                "QINGSHOU_WEBHOOK_SECRET": "has spaces in it, not allowed",
            },
            "QINGSHOU_WEBHOOK_SECRET",
        ),
        (
            {
                "QINGSHOU_WEBHOOK_URL": "https://b.example/h",
                "QINGSHOU_WEBHOOK_SECRET": SECRET,
                "QINGSHOU_WEBHOOK_LISTEN": "8443",
            },
            "QINGSHOU_WEBHOOK_LISTEN",
        ),
        ({"QINGSHOU_WEBHOOK_SECRET": SECRET}, "QINGSHOU_WEBHOOK_SECRET"),
        ({"QINGSHOU_WEBHOOK_LISTEN": "127.0.0.1:8443"}, "QINGSHOU_WEBHOOK_LISTEN"),
        ({"QINGSHOU_INSTANCE": "x" * 201}, "QINGSHOU_INSTANCE"),
    ],
)
def test_a_wrong_webhook_setting_names_its_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(env)
