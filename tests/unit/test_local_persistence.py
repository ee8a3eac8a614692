"""`imgpro local --data-dir` (imgpro.local.data_dir, imgpro.local.persistence): what counts
as a change, the folder's files and lock, a save and restore of a table and a bucket
against in-process moto, tokens found in a restored table, and the flags."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from imgpro import clock as domain_clock
from imgpro import provision, teams
from imgpro.cli import build_parser, stack_options
from imgpro.local.data_dir import (
    BLOBS,
    STATE_FILE,
    DataDir,
    DataDirError,
    TokenFile,
    write_atomically,
)
from imgpro.local.persistence import Persistence, changes_state
from imgpro.local.stack import TokenSpec, _ensure_token
from tests.conftest import BUCKET, TABLE

RESTORED = "imgpro-restored"


def _environ(method: str, target: str = "") -> dict[str, Any]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method}
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    return environ


# What counts as a change


@pytest.mark.parametrize(
    "operation",
    ["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems", "DescribeTable"],
)
def test_dynamodb_reads_change_nothing(operation: str) -> None:
    assert not changes_state(_environ("POST", f"DynamoDB_20120810.{operation}"))


@pytest.mark.parametrize(
    "operation",
    ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"],
)
def test_dynamodb_writes_are_changes(operation: str) -> None:
    assert changes_state(_environ("POST", f"DynamoDB_20120810.{operation}"))


@pytest.mark.parametrize(
    ("method", "changes"),
    [("GET", False), ("HEAD", False), ("PUT", True), ("POST", True), ("DELETE", True)],
)
def test_s3_changes_on_put_post_and_delete_only(method: str, changes: bool) -> None:
    assert changes_state(_environ(method)) is changes


# Files


def test_an_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    write_atomically(target, b"new", private=True)
    assert target.read_bytes() == b"new"
    assert [path.name for path in tmp_path.iterdir()] == ["state.json"]
    assert target.stat().st_mode & 0o777 == 0o600


def test_a_remembered_token_gives_back_its_secret(tmp_path: Path) -> None:
    token = TokenFile(tmp_path / ".imgpro-local" / "token")
    assert token.secret() is None
    token.remember("1|remembered-secret")
    assert token.secret() == "remembered-secret"
    assert token.path.read_text() == "1|remembered-secret\n"
    # A folder the stack makes ignores itself in git: it holds secrets.
    assert (token.path.parent / ".gitignore").read_text().splitlines()[-1] == "*"


def test_a_token_file_without_an_id_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("just-a-secret\n")
    assert TokenFile(tmp_path / "token").secret() is None


def test_a_second_stack_cannot_use_a_data_dir_in_use(tmp_path: Path) -> None:
    first = DataDir(tmp_path / "data")
    first.open()
    try:
        with pytest.raises(DataDirError, match="in use"):
            DataDir(tmp_path / "data").open()
    finally:
        first.close()
    second = DataDir(tmp_path / "data")
    second.open()  # free again once the first closed it
    second.close()


def test_unreadable_state_is_refused_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(DataDirError, match="not valid JSON"):
        DataDir(tmp_path).open()
    assert (tmp_path / STATE_FILE).read_text() == "{not json"
    DataDir(tmp_path).close()


def test_state_of_another_format_is_refused(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text('{"format": 99}')
    with pytest.raises(DataDirError, match="format 99"):
        DataDir(tmp_path).open()


# Saving and restoring


@pytest.fixture
def offset() -> Iterator[None]:
    """Puts the domain clock's offset back after the test."""
    saved = domain_clock.offset()
    yield
    domain_clock.set_offset(saved)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[DataDir]:
    folder = DataDir(tmp_path / "data")
    folder.open()
    yield folder
    folder.close()


def _persistence(data_dir: DataDir, *, table: str = TABLE, bucket: str = BUCKET) -> Persistence:
    return Persistence(
        data_dir,
        table=table,
        bucket=bucket,
        dynamodb=boto3.client("dynamodb"),
        s3=boto3.client("s3"),
        aws_port=lambda: 4566,
    )


def _reopened(data_dir: DataDir) -> DataDir:
    """The folder as the next start reads it."""
    data_dir.close()
    data_dir.open()
    return data_dir


def _restored_into_a_new_table_and_bucket(data_dir: DataDir) -> Persistence:
    provision.ensure_table(RESTORED)
    provision.ensure_bucket(RESTORED)
    persistence = _persistence(data_dir, table=RESTORED, bucket=RESTORED)
    persistence.restore()
    return persistence


def test_items_and_objects_come_back_as_saved(aws: None, data_dir: DataDir, offset: None) -> None:
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    item = {
        "pk": {"S": "MEDIA#abc"},
        "sk": {"S": "META"},
        "width": {"N": "640"},
        "raw": {"B": b"\x00\xff"},
        "v_s": {"M": {"bytes": {"N": "12"}, "tags": {"L": [{"S": "a"}, {"BS": [b"\x01"]}]}}},
    }
    dynamodb.put_item(TableName=TABLE, Item=item)
    s3.put_object(
        Bucket=BUCKET,
        Key="o/abc.jpg",
        Body=b"jpeg bytes",
        ContentType="image/jpeg",
        CacheControl="public, max-age=31536000, immutable",
        Tagging="ephemeral=true&expires-in=7d",
    )
    domain_clock.set_offset(600)
    assert _persistence(data_dir).save()

    domain_clock.set_offset(0)
    restored = _restored_into_a_new_table_and_bucket(_reopened(data_dir))

    assert dynamodb.scan(TableName=RESTORED)["Items"] == [item]
    got = s3.get_object(Bucket=RESTORED, Key="o/abc.jpg")
    assert got["Body"].read() == b"jpeg bytes"
    assert (got["ContentType"], got["CacheControl"]) == (
        "image/jpeg",
        "public, max-age=31536000, immutable",
    )
    tags = s3.get_object_tagging(Bucket=RESTORED, Key="o/abc.jpg")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"ephemeral": "true", "expires-in": "7d"}
    assert domain_clock.offset() == 600
    assert not restored.dirty  # loading is no change worth saving again


def test_the_clock_is_left_alone_when_asked(aws: None, data_dir: DataDir, offset: None) -> None:
    domain_clock.set_offset(600)
    _persistence(data_dir).save()
    domain_clock.set_offset(30)
    _persistence(_reopened(data_dir)).restore(keep_clock=True)
    assert domain_clock.offset() == 30


def test_nothing_changed_means_no_save(aws: None, data_dir: DataDir) -> None:
    persistence = _persistence(data_dir)
    assert persistence.save()
    assert not persistence.save()
    persistence.note_request(_environ("GET"))
    assert not persistence.save()
    persistence.note_request(_environ("POST", "DynamoDB_20120810.PutItem"))
    assert persistence.save()


def test_objects_are_stored_once_per_content_and_dropped_when_deleted(
    aws: None, data_dir: DataDir
) -> None:
    s3 = boto3.client("s3")
    for key in ("o/one.png", "p/one.png"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"same bytes")
    s3.put_object(Bucket=BUCKET, Key="o/two.png", Body=b"other bytes")
    persistence = _persistence(data_dir)
    persistence.save(force=True)
    assert len(list((data_dir.path / BLOBS).iterdir())) == 2

    s3.delete_object(Bucket=BUCKET, Key="o/two.png")
    persistence.save(force=True)
    assert len(list((data_dir.path / BLOBS).iterdir())) == 1


def test_an_unchanged_object_is_not_read_again(
    aws: None, data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key="o/one.png", Body=b"bytes")
    persistence = _persistence(data_dir)
    persistence.save(force=True)
    read: list[str] = []
    monkeypatch.setattr(persistence, "_copy_object", lambda key: read.append(key))
    persistence.save(force=True)
    assert read == []


def test_a_restore_does_not_copy_every_object_again(
    aws: None, data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key="o/one.png", Body=b"bytes")
    _persistence(data_dir).save()
    restored = _restored_into_a_new_table_and_bucket(_reopened(data_dir))
    read: list[str] = []
    monkeypatch.setattr(restored, "_copy_object", lambda key: read.append(key))
    restored.save(force=True)
    assert read == []


def test_a_missing_blob_skips_its_object_only(aws: None, data_dir: DataDir) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="o/kept.png", Body=b"kept")
    s3.put_object(Bucket=BUCKET, Key="o/lost.png", Body=b"lost")
    _persistence(data_dir).save()
    (data_dir.path / BLOBS / hashlib.sha256(b"lost").hexdigest()).unlink()
    _restored_into_a_new_table_and_bucket(_reopened(data_dir))
    keys = [obj["Key"] for obj in s3.list_objects_v2(Bucket=RESTORED).get("Contents", [])]
    assert keys == ["o/kept.png"]


def test_the_port_of_the_last_save_is_remembered(aws: None, data_dir: DataDir) -> None:
    assert data_dir.aws_port is None
    _persistence(data_dir).save()
    assert _reopened(data_dir).aws_port == 4566


# The flags


def test_data_dir_is_off_unless_asked_for(tmp_path: Path) -> None:
    args = build_parser().parse_args(["local", "--functions-dir", str(tmp_path)])
    assert stack_options(args, env={}).data_dir is None


def test_data_dir_flag_is_resolved_against_the_starting_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(
        ["local", "--functions-dir", str(tmp_path), "--data-dir", "state"]
    )
    assert stack_options(args, env={}).data_dir == tmp_path.resolve() / "state"


def test_the_generated_token_is_remembered_in_the_starting_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["local", "--functions-dir", str(tmp_path)])
    assert stack_options(args, env={}).token_file == tmp_path.resolve() / ".imgpro-local" / "token"


# Tokens in a restored table


def test_a_token_already_in_the_table_is_the_same_token(aws: None) -> None:
    first = _ensure_token(TokenSpec("acme", ("*",), "kept-secret-1"))
    again = _ensure_token(TokenSpec("acme", ("*",), "kept-secret-1"))
    assert again == first
    assert [token.token_id for token in teams.list_tokens("acme")] == [first.token_id]


def test_a_token_given_other_abilities_replaces_the_one_in_the_table(aws: None) -> None:
    first = _ensure_token(TokenSpec("acme", ("*",), "kept-secret-1"))
    narrower = _ensure_token(TokenSpec("acme", ("read",), "kept-secret-1"))
    assert narrower.token_id != first.token_id
    assert narrower.abilities == ("read",)
    assert [token.token_id for token in teams.list_tokens("acme")] == [narrower.token_id]
