"""`imgpro local` flags: parsing, validation, and the environment they turn into."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from imgpro import config
from imgpro.cli import (
    FUNCTIONS_DIR_ENV,
    build_parser,
    default_functions_dir,
    main,
    stack_options,
)
from imgpro.local.stack import TeamSpec, TokenSpec, base_url, environment

REPO = Path(__file__).resolve().parents[2]


def parse(*flags: str) -> argparse.Namespace:
    return build_parser().parse_args(["local", *flags])


def refused(capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    """The error message of a command line argparse refuses with status 2."""
    with pytest.raises(SystemExit) as exit_info:
        parse(*flags)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


# Defaults


def test_defaults_listen_on_loopback_port_8787() -> None:
    args = parse()
    assert (args.host, args.port, args.aws_port) == ("127.0.0.1", 8787, 0)


def test_default_rate_limit_is_100_per_minute_and_1000_per_hour() -> None:
    assert parse().rate_limit == "100/1000"


def test_no_flags_means_no_teams_tokens_or_import_ranges() -> None:
    args = parse()
    assert (args.teams, args.tokens, args.import_cidrs) == ([], [], [])


def test_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([])
    assert exit_info.value.code == 2


# --port, --aws-port, --host, --public-host


def test_port_zero_asks_for_a_free_port() -> None:
    assert parse("--port", "0").port == 0


@pytest.mark.parametrize("value", ["-1", "65536", "http", ""])
def test_bad_port_is_refused(capsys: pytest.CaptureFixture[str], value: str) -> None:
    assert "not a port number" in refused(capsys, "--port", value)


def test_bad_aws_port_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--aws-port" in refused(capsys, "--aws-port", "99999")


def test_host_is_taken_as_given() -> None:
    assert parse("--host", "0.0.0.0").host == "0.0.0.0"


def test_public_host_is_taken_as_given() -> None:
    assert parse("--public-host", "images.example.test").public_host == "images.example.test"


@pytest.mark.parametrize("value", ["http://example.test", "example.test/path", "a b"])
def test_public_host_with_scheme_or_path_is_refused(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    assert "bare host name" in refused(capsys, "--public-host", value)


# --team


def test_team_flag_sets_the_plan() -> None:
    assert parse("--team", "acme:growth").teams == [TeamSpec("acme", "growth", False)]


def test_team_flag_with_public_makes_media_public_by_default() -> None:
    assert parse("--team", "acme:launch:public").teams == [TeamSpec("acme", "launch", True)]


def test_team_flag_repeats() -> None:
    teams = parse("--team", "acme:growth", "--team", "globex:business").teams
    assert [team.team_id for team in teams] == ["acme", "globex"]


def test_unknown_plan_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "must be one of free, launch, growth, business" in refused(
        capsys, "--team", "acme:platinum"
    )


@pytest.mark.parametrize("value", ["acme", "acme:growth:private", "acme:growth:public:x"])
def test_malformed_team_flag_is_refused(capsys: pytest.CaptureFixture[str], value: str) -> None:
    assert "TEAM:PLAN" in refused(capsys, "--team", value)


def test_invalid_team_id_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "team id" in refused(capsys, "--team", "Acme Corp:growth")


# --token


def test_token_flag_names_team_abilities_and_secret() -> None:
    assert parse("--token", "acme:*:acme-full-secret").tokens == [
        TokenSpec("acme", ("*",), "acme-full-secret")
    ]


def test_token_flag_takes_read_and_write_together() -> None:
    (token,) = parse("--token", "acme:read,write:acme-rw-secret").tokens
    assert token.abilities == ("read", "write")


def test_token_secret_may_contain_colons() -> None:
    (token,) = parse("--token", "acme:read:with:colons").tokens
    assert token.secret == "with:colons"


def test_token_flag_repeats() -> None:
    tokens = parse("--token", "acme:read:secret-one", "--token", "acme:write:secret-two").tokens
    assert [token.abilities for token in tokens] == [("read",), ("write",)]


def test_token_label_is_team_and_abilities() -> None:
    assert TokenSpec("acme", ("read", "write"), "s").label == "acme:read,write"


def test_unknown_ability_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "abilities must be" in refused(capsys, "--token", "acme:admin:acme-secret")


@pytest.mark.parametrize("value", ["acme", "acme:*", "acme:*:", ":*:secret"])
def test_malformed_token_flag_is_refused(capsys: pytest.CaptureFixture[str], value: str) -> None:
    assert "TEAM:ABILITIES:SECRET" in refused(capsys, "--token", value)


# --rate-limit


def test_rate_limit_is_passed_on_as_given() -> None:
    assert parse("--rate-limit", "5/50").rate_limit == "5/50"


def test_rate_limit_can_be_turned_off() -> None:
    assert parse("--rate-limit", "off").rate_limit == "off"


@pytest.mark.parametrize("value", ["100", "0/1000", "100/0", "a/b", "100/1000/1", "OFF", "-1/5"])
def test_bad_rate_limit_is_refused(capsys: pytest.CaptureFixture[str], value: str) -> None:
    assert "PER_MIN/PER_HOUR" in refused(capsys, "--rate-limit", value)


# --allow-import-from


def test_import_ranges_are_normalized_networks() -> None:
    args = parse("--allow-import-from", "127.0.0.1", "--allow-import-from", "10.1.2.3/8")
    assert args.import_cidrs == ["127.0.0.1/32", "10.0.0.0/8"]


def test_ipv6_import_range_is_accepted() -> None:
    assert parse("--allow-import-from", "::1").import_cidrs == ["::1/128"]


@pytest.mark.parametrize("value", ["localhost", "300.1.1.1", "10.0.0.0/33"])
def test_bad_import_range_is_refused(capsys: pytest.CaptureFixture[str], value: str) -> None:
    assert "not an IP address or CIDR range" in refused(capsys, "--allow-import-from", value)


# --functions-dir and options that depend on more than one flag


def test_functions_dir_defaults_to_the_repos_functions_folder() -> None:
    assert default_functions_dir({}) == REPO / "functions"


def test_functions_dir_default_can_come_from_the_environment(tmp_path: Path) -> None:
    assert default_functions_dir({FUNCTIONS_DIR_ENV: str(tmp_path)}) == tmp_path


def test_functions_dir_flag_wins_over_the_environment(tmp_path: Path) -> None:
    args = parse("--functions-dir", str(tmp_path))
    options = stack_options(args, env={FUNCTIONS_DIR_ENV: "/nowhere"})
    assert options.functions_dir == tmp_path.resolve()


def test_missing_functions_dir_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["local", "--functions-dir", str(tmp_path / "absent")])
    assert exit_info.value.code == 2
    assert "does not exist" in capsys.readouterr().err


def test_two_tokens_with_one_secret_are_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--functions-dir", str(tmp_path), "--token", "a:read:same-secret"]
    with pytest.raises(SystemExit) as exit_info:
        main(["local", *flags, "--token", "b:write:same-secret"])
    assert exit_info.value.code == 2
    assert "secret of its own" in capsys.readouterr().err


def test_options_carry_every_flag(tmp_path: Path) -> None:
    args = parse(
        "--functions-dir",
        str(tmp_path),
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        "--aws-port",
        "4566",
        "--public-host",
        "laptop.test",
        "--team",
        "acme:growth",
        "--token",
        "acme:*:acme-full-secret",
        "--rate-limit",
        "off",
        "--allow-import-from",
        "127.0.0.0/8",
    )
    options = stack_options(args, env={})
    assert (options.host, options.port, options.aws_port) == ("0.0.0.0", 0, 4566)
    assert options.public_host == "laptop.test"
    assert options.teams == (TeamSpec("acme", "growth"),)
    assert options.tokens == (TokenSpec("acme", ("*",), "acme-full-secret"),)
    assert (options.rate_limit, options.import_cidrs) == ("off", ("127.0.0.0/8",))


# What the flags become


def test_base_url_uses_the_bound_host() -> None:
    assert base_url(host="127.0.0.1", port=8787) == "http://127.0.0.1:8787"


def test_base_url_of_a_wildcard_bind_is_loopback() -> None:
    assert base_url(host="0.0.0.0", port=8787) == "http://127.0.0.1:8787"
    assert base_url(host="::", port=8787) == "http://127.0.0.1:8787"


def test_base_url_prefers_the_public_host() -> None:
    assert base_url(host="0.0.0.0", port=80, public_host="laptop.test") == "http://laptop.test:80"


def test_base_url_brackets_an_ipv6_host() -> None:
    assert base_url(host="::1", port=8787) == "http://[::1]:8787"


def test_environment_points_the_handlers_at_moto_and_this_server() -> None:
    env = environment(
        base_url="http://127.0.0.1:9000",
        aws_endpoint="http://127.0.0.1:5000",
        rate_limit="100/1000",
        import_cidrs=("127.0.0.0/8", "10.0.0.0/8"),
    )
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert env["AWS_ACCESS_KEY_ID"] == env["AWS_SECRET_ACCESS_KEY"] == "local"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env[config.TABLE_NAME] == env[config.BUCKET_NAME] == "imgpro-local"
    assert env[config.CDN_BASE_URL] == "http://127.0.0.1:9000/cdn"
    assert env[config.SHARE_BASE_URL] == "http://127.0.0.1:9000"
    assert env[config.RATE_LIMIT] == "100/1000"
    assert env[config.IMPORT_ALLOW_CIDRS] == "127.0.0.0/8,10.0.0.0/8"


def test_environment_is_a_valid_configuration() -> None:
    env = environment(
        base_url="http://127.0.0.1:9000",
        aws_endpoint="http://127.0.0.1:5000",
        rate_limit="off",
        import_cidrs=(),
    )
    settings = config.Settings.from_mapping(env)
    assert settings.cdn_base_url == "http://127.0.0.1:9000/cdn"
