"""The artifact store and the file policy."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from mcp import Client

from liveloom.ableton_bridge.target import parse_target
from liveloom.music.errors import LiveloomError, NotFoundError
from liveloom.music.types import Clip, Note
from liveloom.server.app import build_server
from liveloom.server.config import Config, default_home
from liveloom.store.files import FilePolicy, write_file_atomically
from liveloom.store.workspace import Provenance, Workspace


def _clip(i: int) -> Clip:
    return Clip(name=f"c{i}", length=4, notes=[Note(pitch=60 + i % 12, start=0, duration=1)])


def test_put_get_and_provenance(tmp_path):
    ws = Workspace(tmp_path / "h")
    rec = ws.put_clip(_clip(1), Provenance(tool="t", model="m", model_version="1", params={"a": 1}, seed=7),
                      {"notes": 1})
    got = ws.get(rec.id)
    assert got.provenance.tool == "t" and got.provenance.seed == 7 and got.provenance.params == {"a": 1}
    assert got.provenance.time and got.provenance.liveloom_version
    _, clip = ws.load_clip(rec.id)
    assert clip == _clip(1)
    assert rec.id.startswith("clip_") and (ws.artifacts_dir / rec.file).exists()


def test_unknown_id_says_how_to_find_ids(tmp_path):
    ws = Workspace(tmp_path / "h")
    with pytest.raises(NotFoundError, match="list_artifacts"):
        ws.get("clip_0000000000")


def test_concurrent_writes_from_many_threads_all_land_with_distinct_ids(tmp_path):
    ws = Workspace(tmp_path / "h")
    ids: list[str] = []
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            local = Workspace(tmp_path / "h")  # separate handles, as separate requests would have
            for i in range(10):
                ids.append(local.put_clip(_clip(k * 10 + i), Provenance(tool="t"), {}).id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(ids) == 80 and len(set(ids)) == 80
    records, total = ws.list(limit=200)
    assert total == 80
    names = {ws.load_clip(r.id)[1].name for r in records}
    assert names == {f"c{i}" for i in range(80)}
    assert not list(ws.artifacts_dir.glob(".*.tmp"))


def test_payloads_are_never_overwritten(tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "h")
    first = ws.put_clip(_clip(1), Provenance(tool="t"), {})
    before = (ws.artifacts_dir / first.file).read_bytes()
    # force an id collision: the store must draw another id rather than replace the payload
    import liveloom.store.workspace as wsmod
    tokens = iter([first.id.split("_")[1], "abcdefabcd"])
    monkeypatch.setattr(wsmod.secrets, "token_hex", lambda n=5: next(tokens, "0123456789"))
    second = ws.put_clip(_clip(2), Provenance(tool="t"), {})
    assert second.id != first.id
    assert (ws.artifacts_dir / first.file).read_bytes() == before
    assert ws.load_clip(first.id)[1].name == "c1"


def test_list_filters_and_pages(tmp_path):
    ws = Workspace(tmp_path / "h")
    for i in range(5):
        ws.put_clip(_clip(i), Provenance(tool="notation_to_clip"), {})
    ws.put("image", "roll", b"\x89PNG", Provenance(tool="piano_roll"), {})
    assert ws.list(kind="image")[1] == 1
    page, total = ws.list(kind="clip", limit=2, offset=4)
    assert total == 5 and len(page) == 1
    assert ws.list(query="piano")[1] == 1


def test_damaged_payload_is_reported_not_crashed(tmp_path):
    ws = Workspace(tmp_path / "h")
    rec = ws.put_clip(_clip(1), Provenance(tool="t"), {})
    (ws.artifacts_dir / rec.file).write_text("{not json")
    with pytest.raises(LiveloomError, match="damaged"):
        ws.load_clip(rec.id)
    (ws.artifacts_dir / rec.file).unlink()
    with pytest.raises(LiveloomError, match="missing"):
        ws.load_clip(rec.id)


def test_default_home_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LIVELOOM_HOME", str(tmp_path / "x"))
    assert default_home() == tmp_path / "x"
    monkeypatch.delenv("LIVELOOM_HOME")
    assert default_home().name == "liveloom"


@pytest.fixture
def policy(tmp_path) -> FilePolicy:
    home = tmp_path / "h"
    extra = tmp_path / "music"
    (home / "files").mkdir(parents=True)
    extra.mkdir()
    return FilePolicy(workspace_home=home, files_dir=home / "files", extra=[extra])


def test_relative_paths_resolve_in_the_files_folder(policy):
    (policy.files_dir / "a.mid").write_bytes(b"x")
    assert policy.readable("a.mid", max_bytes=10) == Path(os.path.realpath(policy.files_dir / "a.mid"))


def test_paths_outside_allowed_folders_are_refused(policy, tmp_path):
    (tmp_path / "secret.mid").write_bytes(b"x")
    with pytest.raises(LiveloomError, match="outside the folders"):
        policy.readable(str(tmp_path / "secret.mid"), max_bytes=10)
    with pytest.raises(LiveloomError, match="outside the folders"):
        policy.readable("../../secret.mid", max_bytes=10)
    with pytest.raises(LiveloomError, match="outside the folders"):
        policy.writable("/etc/liveloom.mid")


def test_symlink_escape_is_refused(policy, tmp_path):
    (tmp_path / "secret.mid").write_bytes(b"x")
    os.symlink(tmp_path / "secret.mid", policy.files_dir / "link.mid")
    with pytest.raises(LiveloomError, match="outside the folders"):
        policy.readable("link.mid", max_bytes=10)
    os.symlink(tmp_path, policy.files_dir / "dirlink")
    with pytest.raises(LiveloomError, match="outside the folders"):
        policy.writable("dirlink/new.mid")


def test_extra_folder_size_suffix_missing_and_empty(policy, tmp_path):
    f = tmp_path / "music" / "big.mid"
    f.write_bytes(b"x" * 100)
    assert policy.readable(str(f), max_bytes=100)
    with pytest.raises(LiveloomError, match="the limit is 99 bytes"):
        policy.readable(str(f), max_bytes=99)
    with pytest.raises(LiveloomError, match=r"\.wav"):
        policy.readable(str(f), max_bytes=100, suffixes=(".wav",))
    with pytest.raises(NotFoundError):
        policy.readable("nope.mid", max_bytes=100)
    (policy.files_dir / "empty.mid").write_bytes(b"")
    with pytest.raises(LiveloomError, match="empty"):
        policy.readable("empty.mid", max_bytes=100)


def test_existing_files_are_not_overwritten_unless_asked(policy):
    target = policy.files_dir / "keep.mid"
    target.write_bytes(b"original")
    with pytest.raises(LiveloomError, match="already exists"):
        policy.writable("keep.mid")
    with pytest.raises(LiveloomError, match="appeared while writing"):
        write_file_atomically(target, b"new", overwrite=False)
    assert target.read_bytes() == b"original"
    path = policy.writable("keep.mid", overwrite=True)
    write_file_atomically(path, b"new", overwrite=True)
    assert target.read_bytes() == b"new"


# ------------------------------------------------------------------ index damage (issue 16)


async def _two_clips(client) -> list[str]:
    ids = []
    for text in ("C F G C", "Dm7 G7 Cmaj7"):
        result = await client.call_tool("notation_to_clip", {"text": text})
        assert not result.is_error
        ids.append(result.structured_content["id"])
    return ids


@pytest.mark.anyio
async def test_a_row_with_bad_json_is_skipped_and_named(client, server):
    import sqlite3

    ids = await _two_clips(client)
    db = sqlite3.connect(server.services.workspace.index_path)
    db.execute("UPDATE artifacts SET provenance = '{not json' WHERE id = ?", (ids[0],))
    db.execute("UPDATE artifacts SET summary = '[[[' WHERE id = ?", (ids[1],))
    db.commit()
    db.close()
    listed = await client.call_tool("list_artifacts", {})
    assert not listed.is_error
    assert listed.structured_content["items"] == [] and sorted(listed.structured_content["damaged"]) == sorted(ids)
    bad = await client.call_tool("get_clip", {"id": ids[0]})
    assert bad.is_error and "damaged" in bad.content[0].text and "Traceback" not in bad.content[0].text
    ok = await client.call_tool("notation_to_clip", {"text": "Am"})  # the server keeps serving and storing
    assert not ok.is_error


@pytest.mark.anyio
async def test_a_garbage_index_is_moved_aside_and_rebuilt(home):
    server = build_server(Config(home=home, allow=[], live=parse_target("sim")))
    async with Client(server) as client:
        ids = await _two_clips(client)
    await server.services.live.close()
    (home / "index.sqlite").write_bytes(b"this is not a database" * 100)
    for extra in ("index.sqlite-wal", "index.sqlite-shm"):
        (home / extra).unlink(missing_ok=True)
    again = build_server(Config(home=home, allow=[], live=parse_target("sim")))  # no traceback, no exit
    assert list(home.glob("index.corrupt-*.sqlite"))
    async with Client(again) as client:
        listed = (await client.call_tool("list_artifacts", {})).structured_content
        assert sorted(i["id"] for i in listed["items"]) == sorted(ids)
        assert "moved aside" in listed["notice"] and "2 artifacts were recovered" in listed["notice"]
        got = await client.call_tool("get_clip", {"id": ids[1], "notes": True})
        assert not got.is_error and got.structured_content["provenance"]["tool"] == "notation_to_clip"
    await again.services.live.close()


@pytest.mark.anyio
async def test_a_deleted_index_is_rebuilt_from_the_payloads(home):
    server = build_server(Config(home=home, allow=[], live=parse_target("sim")))
    async with Client(server) as client:
        ids = await _two_clips(client)
    await server.services.live.close()
    (home / "index.sqlite").unlink()
    for extra in ("index.sqlite-wal", "index.sqlite-shm"):
        (home / extra).unlink(missing_ok=True)
    (home / "artifacts" / f"{ids[0]}.record.json").unlink()  # a payload from before records were kept
    again = build_server(Config(home=home, allow=[], live=parse_target("sim")))
    records, total = again.services.workspace.list()
    assert total == 2 and {r.id for r in records} == set(ids)
    recovered = {r.id: r for r in records}[ids[0]]
    assert recovered.provenance.tool == "recovered" and recovered.name  # rebuilt from the payload itself
    assert again.services.workspace.load_clip(ids[0])[1].notes


@pytest.mark.anyio
async def test_a_payload_that_is_a_folder_is_a_clear_error(client, server):
    ids = await _two_clips(client)
    ws = server.services.workspace
    path = ws.path_of(ws.get(ids[0]))
    path.unlink()
    path.mkdir()
    bad = await client.call_tool("get_clip", {"id": ids[0], "notes": True})
    assert bad.is_error and "cannot be read" in bad.content[0].text
