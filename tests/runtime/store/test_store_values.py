"""Values, ids and URLs: codecs by name, size limits, time-ordered ids, store URLs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arborist.runtime.store import (
    DecodeError,
    LargeResultWarning,
    PostgresStore,
    ResultTooLargeError,
    SQLiteStore,
    open_store,
    store_from_url,
    uuid7,
    uuid7_time,
)
from arborist.runtime.store._codecs import Codecs


@attrs.frozen
class UpperCodec:
    name: str = "upper"

    def encode(self, value):
        return json.dumps(value).upper().encode()

    def decode(self, data):
        return json.loads(data.decode().lower())


async def test_a_user_codec_registered_by_name_stores_and_loads_a_value(backend):
    async with open_store(backend.make(codecs=[UpperCodec()])) as store:
        created = await store.create_run("w", plan_hash="p", inputs="abc", codec="upper")
        journal = await store.load_journal(created.run.run_id)
        stored = backend.sql("SELECT inputs, inputs_codec FROM runs")

    assert journal.inputs == "abc"
    assert (bytes(stored[0][0]), stored[0][1]) == (b'"ABC"', "upper")


async def test_a_value_stored_with_a_codec_this_store_lacks_names_the_codec(backend):
    async with open_store(backend.make(codecs=[UpperCodec()])) as store:
        created = await store.create_run("w", plan_hash="p", inputs="abc", codec="upper")
    async with open_store(backend.make()) as store:
        with pytest.raises(DecodeError, match="codec 'upper', which is not registered"):
            await store.load_journal(created.run.run_id)


def codecs(**limits):
    return Codecs((), default="pickle", max_bytes=limits.get("max", 100),
                  warn_bytes=limits.get("warn", 50))  # fmt: skip


def test_a_value_over_the_limit_is_refused_naming_its_size_and_the_limit():
    with pytest.raises(ResultTooLargeError, match=r"the result of x is 1\d\d bytes .* 100 bytes"):
        codecs().encode(b"x" * 120, None, "the result of x")


def test_a_value_over_the_warning_size_warns_but_is_stored():
    with pytest.warns(LargeResultWarning, match="above warn_result_bytes"):
        encoded = codecs(max=1000, warn=10).encode("y" * 40, None, "v")

    assert encoded.codec == "pickle"


def test_json_refuses_values_it_cannot_represent_at_the_call():
    with pytest.raises(Exception, match="could not be encoded with codec 'json'"):
        codecs().encode(datetime.now(UTC), "json", "v")


def test_an_unknown_codec_name_lists_the_registered_ones():
    with pytest.raises(ValueError, match=r"codec='msgpack' is not registered; .*'json', 'pickle'"):
        codecs().encode(1, "msgpack", "v")


def test_uuid7_ids_made_in_a_row_strictly_increase_and_carry_their_time():
    before = datetime.now(UTC) - timedelta(seconds=1)
    ids = [uuid7() for _ in range(5000)]

    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert [str(i) for i in ids] == sorted(str(i) for i in ids)
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids[:10])
    assert before <= uuid7_time(ids[0]) <= datetime.now(UTC)


@given(st.integers(min_value=0, max_value=253_402_300_799_999))  # datetime ends in 9999
def test_uuid7_time_reads_back_any_millisecond_timestamp(ms):
    made = uuid.UUID(int=(ms << 80) | (0x7 << 76) | (0b10 << 62))

    assert uuid7_time(made).timestamp() == pytest.approx(ms / 1000, abs=1e-3)


def test_sqlite_urls_are_relative_or_absolute_and_may_ask_for_power_durability():
    relative = store_from_url("sqlite:///data/a.db")
    absolute = store_from_url("sqlite:////var/lib/a.db?durability=power")

    assert isinstance(relative, SQLiteStore)
    assert relative.path == Path.cwd() / "data" / "a.db"
    assert (absolute.path, absolute.durability) == (Path("/var/lib/a.db"), "power")


def test_postgresql_urls_make_a_postgres_store_that_hides_the_password():
    made = store_from_url("postgresql://app:secret@db.example/jobs")

    assert isinstance(made, PostgresStore)
    assert "secret" not in made.where
    assert "secret" not in repr(made)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x/y", "store URL 'mysql://x/y' is not supported: use sqlite:///"),
        ("sqlite://relative.db", "is not supported"),
        ("sqlite:///", "names no database file"),
        ("sqlite:///a.db?mode=ro", r"unknown parameters \['mode'\]"),
        ("sqlite:///a.db?durability=max", "durability must be normal or power"),
        ("sqlite:///:memory:", "in-memory database"),
    ],
)
def test_a_bad_store_url_is_a_value_error_naming_it(url, message):
    with pytest.raises(ValueError, match=message):
        store_from_url(url)


async def test_open_store_refuses_what_is_neither_a_url_nor_a_store():
    with pytest.raises(TypeError, match="takes a store URL or a Store"):
        async with open_store(42):  # type: ignore[arg-type]
            pass


def test_bad_store_options_are_refused_naming_the_option(tmp_path):
    with pytest.raises(ValueError, match="durability must be 'normal' or 'power'"):
        SQLiteStore(tmp_path / "a.db", durability="fsync")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lease must be a positive number"):
        SQLiteStore(tmp_path / "a.db", lease=0)
    with pytest.raises(ValueError, match="default_codec='yaml' is not a registered codec"):
        SQLiteStore(tmp_path / "a.db", default_codec="yaml")


async def test_load_journals_reads_many_runs_and_a_bad_value_fails_only_its_run(backend):
    async with open_store(backend.make(codecs=[UpperCodec()])) as store:
        good = [(await store.create_run("w", plan_hash="p", inputs=i)).run for i in range(300)]
        bad = (await store.create_run("w", plan_hash="p", inputs="x", codec="upper")).run
    async with open_store(backend.make()) as store:
        ids = [run.run_id for run in good] + [bad.run_id, "no-such-run"]
        found = await store.load_journals(ids)

    assert [found[run.run_id].inputs for run in good] == list(range(300))  # over one read
    assert isinstance(found[bad.run_id], DecodeError)
    assert "upper" in str(found[bad.run_id])
    assert found["no-such-run"] is None
