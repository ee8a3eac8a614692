"""The `imgpro` command: `imgpro local`'s flags and the environment they turn into, and the
operator commands (`team put|show`, `token issue|list|revoke`) against moto."""

from __future__ import annotations

import argparse
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from imgpro import config, models, teams
from imgpro.auth import hash_secret
from imgpro.cli import (
    FUNCTIONS_DIR_ENV,
    build_parser,
    default_functions_dir,
    main,
    stack_options,
)
from imgpro.cli import aws as cli_aws
from imgpro.local.stack import TeamSpec, TokenSpec, base_url, environment
from tests.conftest import TABLE, TOKENS

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
    # `=`: a value that starts with "-" would otherwise be taken for a flag.
    assert "PER_MIN/PER_HOUR" in refused(capsys, f"--rate-limit={value}")


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


# ---------------------------------------------------------------------------------------
# The operator commands: `imgpro team put|show`, `imgpro token issue|list|revoke`, against
# the moto account of the `aws` fixture (the handlers' table, imgpro-test).


@pytest.fixture
def operator(tokens: dict[str, str]) -> Iterator[dict[str, str]]:
    """Teams acme (growth) and globex (free) with their tokens; afterwards, the models
    bound back to the handlers' table, as the commands rebind them."""
    yield tokens
    models.bind(TABLE)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`imgpro ARGV` in this process: its exit status, stdout and stderr."""
    try:
        status = main(list(argv))
    except SystemExit as exit_info:
        status = exit_info.code
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err: str, command: str) -> str:
    """The message of a refusal: a single line naming the command, and no traceback."""
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"imgpro {command}: error: "), err
    return err


def token_id(sanctum: str) -> str:
    return sanctum.split("|", 1)[0]


# team put and team show


def test_team_put_prints_the_plan_default_and_limits(capsys, operator) -> None:
    status, out, _ = run(capsys, "team", "put", "initech", "--plan", "launch", "--public")
    assert status == 0
    assert out == (
        "team initech plan=launch default=public max_images=10000 max_storage=10000000000 "
        "strip_metadata=gps\n"
    )


def test_team_put_sets_the_metadata_privacy_and_team_show_shows_it(capsys, operator) -> None:
    from imgpro import quotas

    status, out, _ = run(capsys, "team", "put", "acme", "--strip-metadata", "all")
    assert status == 0 and out.endswith(" strip_metadata=all\n")
    assert quotas.standing("acme", consistent=True).strip_metadata == "all"
    status, out, _ = run(capsys, "team", "show", "acme")
    assert out.splitlines()[-1] == (
        "metadata:  strip all (only orientation and the colour profile kept)"
    )
    # `put` sets exactly what it is given: left out, the setting is the default again.
    run(capsys, "team", "put", "acme")
    assert quotas.standing("acme", consistent=True).strip_metadata == "gps"
    status, _, err = run(capsys, "team", "put", "acme", "--strip-metadata", "exif")
    assert status == 2 and "invalid choice: 'exif'" in err


def test_team_show_counts_this_months_images_and_bytes_against_the_plan(
    capsys, operator, api
) -> None:
    filesize = api.upload("acme").json()["filesize"]
    status, out, _ = run(capsys, "team", "show", "acme")
    assert status == 0
    month = time.strftime("%Y-%m", time.gmtime())
    *lines, storage, overrides, metadata = out.splitlines()
    assert lines == [
        "team:      acme",
        "plan:      growth",
        "default:   private",
        f"images:    1 of 100,000 in {month} (UTC), limit from the growth plan",
    ]
    assert storage.startswith(f"storage:   {filesize:,} bytes")
    assert storage.endswith(" of 100,000,000,000 bytes (100 GB), limit from the growth plan")
    assert overrides == "overrides: none"
    assert metadata == "metadata:  strip gps (location removed from EXIF, XMP and text)"


def test_team_show_names_the_overrides_and_where_each_limit_comes_from(capsys, operator) -> None:
    run(capsys, "team", "put", "acme", "--plan", "launch", "--max-images", "50", "--public")
    status, out, _ = run(capsys, "team", "show", "acme")
    assert status == 0
    lines = out.splitlines()
    assert lines[2] == "default:   public"
    assert lines[3].startswith("images:    0 of 50 in ")
    assert lines[3].endswith("limit from an override")
    assert lines[4].endswith("of 10,000,000,000 bytes (10 GB), limit from the launch plan")
    assert lines[5] == "overrides: max_images=50"


def test_team_show_of_an_unknown_team_is_refused(capsys, operator) -> None:
    status, out, err = run(capsys, "team", "show", "initech")
    assert (status, out) == (1, "")
    assert "team 'initech' does not exist" in one_line(err, "team show")
    assert "imgpro team put initech" in err


# token issue


def test_an_issued_token_is_printed_once_and_stored_hashed(capsys, operator, api) -> None:
    status, out, _ = run(capsys, "token", "issue", "acme", "--abilities", "read", "--name", "ci")
    assert status == 0
    assert out.startswith("token team=acme abilities=read : ")
    sanctum = out.rsplit(" ", 1)[-1].strip()
    secret = sanctum.split("|", 1)[1]
    assert len(secret) == 40
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    assert secret not in repr(items)
    assert hash_secret(secret) in repr(items)
    assert api.get("/v1/media", token=sanctum).status == 200


def test_issuing_for_a_team_that_does_not_exist_is_refused(capsys, operator) -> None:
    status, out, err = run(capsys, "token", "issue", "initech")
    assert (status, out) == (1, "")
    assert "team 'initech' does not exist" in one_line(err, "token issue")
    assert "--create-team" in err
    assert teams.get_team("initech") is None
    assert teams.list_tokens("initech") == []


def test_create_team_makes_a_free_private_team_for_the_token(capsys, operator) -> None:
    status, out, _ = run(capsys, "token", "issue", "initech", "--create-team")
    assert status == 0
    assert out.startswith("token team=initech abilities=* : ")
    assert teams.get_team("initech") == teams.Team("initech", plan="free", public_default=False)


def test_create_team_leaves_an_existing_team_as_it_is(capsys, operator) -> None:
    run(capsys, "token", "issue", "acme", "--create-team")
    assert teams.get_team("acme").plan == "growth"


def test_a_secret_the_domain_refuses_is_a_usage_error(capsys, operator) -> None:
    status, _, err = run(capsys, "token", "issue", "acme", "--secret", "short")
    assert status == 2
    assert "8-200 printable characters" in one_line(err, "token issue")


# token list


def test_token_list_shows_each_token_but_never_a_secret_or_hash(capsys, operator, api) -> None:
    run(capsys, "token", "issue", "acme", "--abilities", "read,write", "--name", "ci bot")
    assert api.get("/v1/media", token="acme-read").status == 200
    status, out, _ = run(capsys, "token", "list", "acme")
    assert status == 0
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "ABILITIES", "CREATED", "LAST", "USED", "NAME"]
    cells = [row.split(None, 4) for row in rows]
    assert [(c[0], c[1]) for c in cells] == [
        (token_id(operator["acme"]), "*"),
        (token_id(operator["acme-read"]), "read"),
        (token_id(operator["acme-write"]), "write"),
        (str(int(token_id(operator["globex"])) + 1), "read,write"),
    ]
    today = time.strftime("%Y-%m-%dT", time.gmtime())
    assert all(c[2].startswith(today) and c[2].endswith("Z") for c in cells)
    assert [c[3] for c in cells] != ["never"] * 4
    assert cells[1][3].startswith(today)
    assert [c[3] for c in (cells[0], cells[2], cells[3])] == ["never"] * 3
    assert cells[3][4] == "ci bot"
    for secret in TOKENS.values():
        assert secret not in out
        assert hash_secret(secret) not in out


def test_token_list_of_a_team_without_tokens(capsys, operator) -> None:
    run(capsys, "team", "put", "initech")
    assert run(capsys, "token", "list", "initech")[:2] == (0, "team initech has no tokens\n")


def test_token_list_of_an_unknown_team_is_refused(capsys, operator) -> None:
    status, _, err = run(capsys, "token", "list", "initech")
    assert status == 1
    assert "team 'initech' does not exist" in one_line(err, "token list")


# token revoke


def test_a_revoked_token_gets_401_at_once_and_the_others_still_work(capsys, operator, api) -> None:
    assert api.get("/v1/media", token="acme-read").status == 200
    status, out, _ = run(capsys, "token", "revoke", "acme", token_id(operator["acme-read"]))
    assert status == 0
    assert out == f"revoked token {token_id(operator['acme-read'])} of team acme\n"
    refused = api.get("/v1/media", token="acme-read")
    assert refused.status == 401
    assert refused.json()["code"] == "unauthorized"
    assert api.get("/v1/media", token="acme").status == 200
    listed = run(capsys, "token", "list", "acme")[1]
    assert "read " not in listed


def test_revoking_an_unknown_token_id_is_refused(capsys, operator) -> None:
    status, out, err = run(capsys, "token", "revoke", "acme", "999")
    assert (status, out) == (1, "")
    assert "team acme has no token 999" in one_line(err, "token revoke")
    assert "imgpro token list acme" in err


def test_a_team_cannot_revoke_another_teams_token(capsys, operator, api) -> None:
    status, _, err = run(capsys, "token", "revoke", "acme", token_id(operator["globex"]))
    assert status == 1
    assert "has no token" in one_line(err, "token revoke")
    assert api.get("/v1/media", token="globex").status == 200


@pytest.mark.parametrize("value", ["0", "-3", "abc", "1|secret", "12345678901234567890"])
def test_revoke_refuses_what_is_not_a_token_id(capsys, value: str) -> None:
    status, _, err = run(capsys, "token", "revoke", "acme", value, "--table", TABLE)
    assert status == 2
    assert "is not a token id" in one_line(err, "token revoke")


# Where the table is: --table, --stack, $IMGPRO_TABLE_NAME


def test_stack_reads_the_table_from_the_stacks_output(capsys, operator) -> None:
    boto3.client("cloudformation").create_stack(
        StackName="ImgPro",
        TemplateBody=json.dumps(
            {
                "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {"TableName": {"Value": TABLE}, "ApiUrl": {"Value": "x"}},
            }
        ),
    )
    status, out, _ = run(capsys, "team", "show", "acme", "--stack", "ImgPro")
    assert status == 0
    assert out.startswith("team:      acme\nplan:      growth\n")


def test_a_stack_without_a_table_output_is_refused(capsys, operator) -> None:
    boto3.client("cloudformation").create_stack(
        StackName="Other",
        TemplateBody=json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}),
    )
    status, _, err = run(capsys, "team", "show", "acme", "--stack", "Other")
    assert status == 1
    assert "stack 'Other' has no TableName output" in one_line(err, "team show")


def test_the_table_defaults_to_the_environments(capsys, operator) -> None:
    assert run(capsys, "team", "show", "acme")[0] == 0  # IMGPRO_TABLE_NAME=imgpro-test


# Every mistake: one line on stderr, a non-zero status, no traceback


def test_an_unknown_table_is_one_line(capsys, operator) -> None:
    status, _, err = run(capsys, "token", "issue", "acme", "--table", "imgpro-nope")
    assert status == 1
    assert "table 'imgpro-nope' not found in us-east-1" in one_line(err, "token issue")


def test_an_unknown_stack_is_one_line(capsys, operator) -> None:
    status, _, err = run(capsys, "token", "list", "acme", "--stack", "NoSuchStack")
    assert status == 1
    assert "no CloudFormation stack named 'NoSuchStack' in us-east-1" in one_line(err, "token list")


def test_a_stopped_local_stack_is_one_line(capsys, operator) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    status, _, err = run(capsys, "token", "list", "acme", "--endpoint-url", endpoint)
    assert status == 1
    assert f"nothing answers at {endpoint}" in one_line(err, "token list")
    assert "is the local stack running?" in err


def test_no_credentials_for_aws_is_one_line(capsys, operator, no_aws_configuration) -> None:
    no_aws_configuration.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    status, _, err = run(capsys, "team", "put", "acme")
    assert status == 1
    assert "no AWS credentials found" in one_line(err, "team put")


def test_no_region_for_aws_is_one_line(capsys, operator, no_aws_configuration) -> None:
    no_aws_configuration.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    no_aws_configuration.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    status, _, err = run(capsys, "token", "revoke", "acme", "1")
    assert status == 1
    assert "no AWS region: pass --region" in one_line(err, "token revoke")


def test_a_missing_profile_is_one_line(capsys, operator, no_aws_configuration) -> None:
    no_aws_configuration.setenv("AWS_PROFILE", "nobody")
    status, _, err = run(capsys, "team", "show", "acme", "--region", "us-east-1")
    assert status == 1
    assert "nobody" in one_line(err, "team show")


def test_no_table_at_all_is_a_usage_error(capsys, monkeypatch) -> None:
    monkeypatch.delenv(config.TABLE_NAME, raising=False)
    status, _, err = run(capsys, "team", "show", "acme")
    assert status == 2
    assert "--table or --stack is required" in one_line(err, "team show")


def test_table_and_stack_together_are_a_usage_error(capsys) -> None:
    status, _, err = run(capsys, "team", "show", "acme", "--table", "t", "--stack", "s")
    assert status == 2
    assert "not allowed with argument" in one_line(err, "team show")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--plan", "platinum"], "argument --plan: invalid choice: 'platinum'"),
        (["--max-storage", "5XB"], "argument --max-storage: '5XB' is not a size"),
        (["--max-storage", "1.5"], "not a whole number of bytes"),
        (["--max-images", "-1"], "argument --max-images: '-1' is not a whole number"),
        (["--endpoint-url", "127.0.0.1:4566"], "is not an endpoint URL"),
    ],
)
def test_bad_flag_values_are_one_line_usage_errors(capsys, flags: list[str], message) -> None:
    status, _, err = run(capsys, "team", "put", "acme", "--table", TABLE, *flags)
    assert status == 2
    assert message in one_line(err, "team put")


def test_a_bad_team_id_is_a_usage_error(capsys) -> None:
    status, _, err = run(capsys, "token", "issue", "Acme Corp", "--table", TABLE)
    assert status == 2
    assert "team id 'Acme Corp'" in one_line(err, "token issue")


# The local stack needs no AWS configuration; AWS gets the usual chain


@pytest.fixture
def no_aws_configuration(tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No AWS_* variable, and a HOME with no ~/.aws: a machine never set up for AWS.

    A patcher of its own, undone before moto's (`aws`) restores the environment it set.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                patch.delenv(name)
        patch.setenv("HOME", str(tmp_path))
        # Not AWS configuration: keeps botocore from asking an instance metadata service
        # that is not there (a second's wait before "no credentials").
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield patch


def test_a_loopback_endpoint_gets_local_credentials_and_region_for_its_clients_only(
    monkeypatch,
) -> None:
    monkeypatch.setattr(cli_aws, "check_listening", lambda endpoint: None)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")  # the shell's, for AWS
    before = dict(os.environ)
    flags = ["--table", "imgpro-local", "--endpoint-url", "http://localhost:4566"]
    args = build_parser().parse_args(["team", "show", "acme", *flags])
    try:
        target = cli_aws.connect(args)
        assert target == cli_aws.Target(
            table="imgpro-local",
            region="us-east-1",
            endpoint_url="http://localhost:4566",
            local=True,
        )
        meta = models.TokenItem.Meta
        assert (meta.region, meta.host) == ("us-east-1", "http://localhost:4566")
        assert (meta.aws_access_key_id, meta.aws_secret_access_key) == ("local", "local")
    finally:
        models.bind(TABLE)
    assert dict(os.environ) == before


def test_a_loopback_endpoint_needs_no_aws_configuration(capsys, no_aws_configuration) -> None:
    # Past credentials and region, to the connection: what a stopped stack would say.
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    status, _, err = run(capsys, "team", "show", "acme", "--table", "t", "--endpoint-url", endpoint)
    assert status == 1
    assert f"nothing answers at {endpoint}" in one_line(err, "team show")


def test_the_endpoint_can_come_from_the_environment(capsys, no_aws_configuration) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    no_aws_configuration.setenv("AWS_ENDPOINT_URL", endpoint)
    status, _, err = run(capsys, "team", "show", "acme", "--table", "t")
    assert status == 1
    assert f"nothing answers at {endpoint}" in one_line(err, "team show")


@pytest.mark.parametrize(
    ("endpoint", "loopback"),
    [
        ("http://127.0.0.1:4566", True),
        ("http://127.9.9.9:4566", True),
        ("http://localhost:4566", True),
        ("http://[::1]:4566", True),
        ("https://dynamodb.eu-west-1.amazonaws.com", False),
        ("http://192.0.2.7:4566", False),
        ("http://localhost.example.test", False),
    ],
)
def test_which_endpoints_are_loopback(endpoint: str, loopback: bool) -> None:
    assert cli_aws.is_loopback(endpoint) is loopback


def test_aws_gets_the_usual_chains_region_and_credentials(operator) -> None:
    args = build_parser().parse_args(["token", "list", "acme", "--region", "eu-west-1"])
    target = cli_aws.connect(args)
    assert target == cli_aws.Target(table=TABLE, region="eu-west-1")
    meta = models.TeamItem.Meta
    assert (meta.region, meta.host) == ("eu-west-1", None)
    assert meta.aws_access_key_id == os.environ["AWS_ACCESS_KEY_ID"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_aws_region_is_found_as_the_aws_cli_finds_it(operator, monkeypatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-2")  # boto3 alone would ignore it
    args = build_parser().parse_args(["token", "list", "acme"])
    assert cli_aws.connect(args).region == "eu-west-2"
    monkeypatch.delenv("AWS_REGION")
    assert cli_aws.connect(args).region == "eu-west-1"
