"""`--state FILE`: nothing a client created is lost across a restart; a damaged file stops
start-up with what is wrong; the file is replaced atomically. (Crashes and the change log:
`test_change_log.py`.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sandbox import Settings, create_app
from sandbox.dialect.vendor import VendorSandbox
from sandbox.serve.cli import main
from sandbox.store.statefile import StateFileError, save_state, snapshot
from tests.servers import call_sandbox, free_port, serve

RETELL = {"Authorization": "Bearer key_127f60598b07bc1e334fd13b8d"}
ZUDU = {
    "X-API-KEY": "sk_yJFV30QbWdCoMWqYmNgJQvV9eCjGdJQd",
    "X-API-SECRET": "s3cr3t_AgG4sYZIt0NAxe6P6GvsbIJ2JOgQAZjHGqH9Jf8q",
}
CALLAB = {"Authorization": "Bearer cb_live_90cf3e84226d265f91a8c78d2635d234"}
NUMBERS = {"from_number": "+14155550142", "to_number": "+12125550101"}


def _request(url: str, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
    import httpx

    # A new connection for every request.
    with httpx.Client(base_url=url, timeout=10.0) as client:
        return client.request(method, path, headers=headers, json=body)


def _bodies(url: str, paths: dict[str, tuple[str, dict[str, str]]]) -> dict[str, tuple[int, bytes]]:
    found = {}
    for name, (path, headers) in paths.items():
        answer = _request(url, "GET", path, headers)
        found[name] = (answer.status_code, answer.content)
    return found


def _listed(url: str) -> tuple[list[str], list[str]]:
    retell = _request(url, "POST", "/retell/v3/list-calls", RETELL, {"limit": 1000}).json()
    zudu = _request(url, "POST", "/zudu/api/calls", ZUDU, {"limit": 100}).json()
    return [i["call_id"] for i in retell["items"]], [c["call_id"] for c in zudu["data"]["calls"]]


def test_created_calls_survive_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox-state.json"
    with serve(tmp_path / "first", "--state", str(state_file)) as server:
        made = [
            _request(server.url, "POST", "/retell/v2/create-phone-call", RETELL, NUMBERS)
            for _ in range(3)
        ]
        assert [m.status_code for m in made] == [201, 201, 201]
        retell_ids = [m.json()["call_id"] for m in made]
        zudu = _request(server.url, "POST", "/zudu/api/calls/create-phone-call", ZUDU, NUMBERS)
        assert zudu.status_code == 200, zudu.text
        zudu_id = zudu.json()["data"]["call"]["call_id"]
        callab = _request(
            server.url,
            "POST",
            "/callab/v1/calls",
            CALLAB,
            {"call_from": "+14155550142", "call_to": "+12125550101"},
        )
        assert callab.status_code == 200, callab.text
        callab_id = callab.json()["data"]["id"]
        # An update (Zudu merges metadata, into a created and into a pinned call) and a delete.
        for target in (zudu_id, "call-456"):
            put = _request(
                server.url, "PUT", f"/zudu/api/calls/{target}", ZUDU, {"metadata": {"kept": True}}
            )
            assert put.status_code == 200, put.text
        deleted = retell_ids.pop()
        assert (
            _request(server.url, "DELETE", f"/retell/v2/delete-call/{deleted}", RETELL).status_code
            == 204
        )
        paths = {
            **{i: (f"/retell/v2/get-call/{i}", RETELL) for i in retell_ids},
            "zudu": (f"/zudu/api/calls/{zudu_id}", ZUDU),
            "zudu-docs": ("/zudu/api/calls/call-456", ZUDU),
            "callab": (f"/callab/v1/calls/{callab_id}", CALLAB),
            "retell-of-zudu": (f"/retell/v2/get-call/{zudu_id}", RETELL),
            "deleted": (f"/retell/v2/get-call/{deleted}", RETELL),
        }
        before = _bodies(server.url, paths)
        nothing = "0 created, 0 patched, 0 deleted"
        logged = f"each change logged to {state_file}.log"
        assert f"state: {state_file} ({nothing}; {logged})" in server.stdout()
        listed_before = _listed(server.url)
        code, _ = server.terminate()
        assert code == 0, server.output()
    assert before["deleted"][0] == 422
    assert b'"kept":true' in before["zudu"][1]
    assert b'"kept":true' in before["zudu-docs"][1]
    saved = json.loads(state_file.read_text())
    assert saved["format"] == "call-sandbox-state"
    assert saved["tenants"]["acme"]["counter"] == 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file
    # A clean stop leaves no change log: the next start knows it has nothing to recover.
    assert not (tmp_path / "sandbox-state.json.log").exists()

    with serve(tmp_path / "second", "--state", str(state_file)) as server:
        loaded = "5 created, 1 patched, 1 deleted"  # the deleted call was a created one
        assert f"state: {state_file} ({loaded}; {logged})" in server.stdout()
        assert "unclean stop" not in server.output()
        assert _bodies(server.url, paths) == before
        assert _listed(server.url) == listed_before
        retell_listed, zudu_listed = listed_before
        assert set(retell_ids) <= set(retell_listed)
        assert deleted not in retell_listed
        assert zudu_id in zudu_listed
        # Numbering goes on where it stopped: a new call gets a new id.
        again = _request(server.url, "POST", "/retell/v2/create-phone-call", RETELL, NUMBERS)
        assert again.status_code == 201
        assert again.json()["call_id"] not in {*retell_ids, deleted}
        assert server.terminate()[0] == 0
    assert json.loads(state_file.read_text())["tenants"]["acme"]["counter"] == 6


def _sandbox(state_file: Path | None = None) -> VendorSandbox:
    state: VendorSandbox = create_app(Settings(state_file=state_file)).state.sandbox
    return state


def _create(app: Starlette, tenant: str | None = None) -> None:
    state: VendorSandbox = app.state.sandbox
    with TestClient(app) as client:
        made = client.post(
            "/retell/v2/create-phone-call",
            headers=state.credentials("retell", tenant),
            json=NUMBERS,
        )
        assert made.status_code == 201, made.text


def _with_changes(state_file: Path) -> Starlette:
    """A sandbox where clients created calls for two tenants, patched one, and the clock
    moved on five minutes."""
    app = create_app(Settings(state_file=state_file))
    _create(app)
    _create(app)
    _create(app, "globex")
    app.state.sandbox.advance(5 * 60_000)
    with TestClient(app) as client:
        put = client.put("/zudu/api/calls/call-456", headers=ZUDU, json={"metadata": {"a": 1}})
        assert put.status_code == 200
    return app


def test_save_then_load_restores_calls_numbering_and_clock(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    first_app = _with_changes(state_file)
    first: VendorSandbox = first_app.state.sandbox
    save_state(first, state_file)
    second_app = create_app(Settings(state_file=state_file))
    second: VendorSandbox = second_app.state.sandbox
    assert snapshot(second) == snapshot(first)
    assert second.clock.now_ms() == first.clock.now_ms() == first.clock.reference_ms + 300_000
    assert second.store.snapshot() == first.store.snapshot() == {"acme": 3, "globex": 1}
    tenant = first.default_tenant.id
    for call in first.store.calls(tenant):
        assert second.store.get(tenant, call.id) == call
    # The next creation number follows the saved one.
    _create(first_app)
    _create(second_app)
    assert snapshot(second) == snapshot(first)


def test_a_missing_file_is_a_first_start(tmp_path: Path) -> None:
    state = _sandbox(tmp_path / "absent.json")
    assert state.store.snapshot() == {"acme": 0, "globex": 0}
    assert not (tmp_path / "absent.json").exists()


def test_the_file_is_replaced_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_file = tmp_path / "state.json"
    app = _with_changes(state_file)
    state: VendorSandbox = app.state.sandbox
    save_state(state, state_file)
    saved = state_file.read_text()

    def fail(source: Any, target: Any) -> None:
        raise OSError("disk full")

    _create(app)
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        save_state(state, state_file)
    assert state_file.read_text() == saved
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "state.json",
        "state.json.lock",
        "state.json.log",
    ]


def _encoded_state(tmp_path: Path) -> dict[str, Any]:
    state_file = tmp_path / "good.json"
    return snapshot(_with_changes(state_file).state.sandbox)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: "{not json", "is not JSON (Expecting property name"),
        (lambda d: "[" * 100_000, "is not JSON (nested too deeply)"),
        (lambda d: b'{"format": "call-sandbox-state\xff"}', "is not UTF-8 ("),
        (lambda d: {**d, "tenants": []}, "tenants must be an object"),
        (
            lambda d: _set(d, ["tenants", "acme", "created", 0, "call", "metadata"], _DEEP),
            "is not JSON (nested too deeply)",  # under the recursion limit, and yet too deep
        ),
        (lambda d: [], 'is not a call-sandbox state file (no "format": "call-sandbox-state")'),
        (lambda d: {**d, "version": 9}, "has version 9; this sandbox reads version 1"),
        (lambda d: {**d, "seed": 7}, "was written by a sandbox with seed 7, this one has seed "),
        (lambda d: {**d, "clock_offset_ms": -1}, "clock_offset_ms must be an integer >= 0, not -1"),
        (
            lambda d: {**d, "tenants": {"initech": d["tenants"]["acme"]}},
            "tenants.initech: no such tenant in the fixtures (they have acme, globex)",
        ),
        (
            lambda d: _set(d, ["tenants", "acme", "created", 0, "sequence"], 9),
            "tenants.acme.created[0].sequence: must be between 1 and counter 2",
        ),
        (
            lambda d: _set(d, ["tenants", "acme", "created", 1, "call", "turns"], "words"),
            "tenants.acme.created[1].call.turns: expected an array, got str",
        ),
        (
            lambda d: _set(d, ["tenants", "acme", "patched", 0, "tenant"], "globex"),
            "tenants.acme.patched[0].tenant: is 'globex', under tenant 'acme'",
        ),
    ],
)
def test_a_damaged_file_stops_start_up_saying_what_is_wrong(
    tmp_path: Path, damage: Any, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = damage(_encoded_state(tmp_path))
    state_file = tmp_path / "state.json"
    if isinstance(damaged, bytes):
        state_file.write_bytes(damaged)
    else:
        text = damaged if isinstance(damaged, str) else json.dumps(damaged)
        state_file.write_text(text.replace(json.dumps(_DEEP), _deep(990)))
    with pytest.raises(StateFileError) as caught:
        _sandbox(state_file)
    text = str(caught.value)
    assert text.startswith(f"state file {state_file}: {message}")
    assert text.endswith("; fix it, or move it away to start with no saved calls")
    # The server does not start on it: `serve` says so and exits 2 before listening.
    assert main(["serve", "--port", "9", "--state", str(state_file)]) == 2
    assert capsys.readouterr().err == f"call-sandbox: {text}\n"


_DEEP = "<nested objects>"


def _deep(levels: int) -> str:
    return '{"a":' * levels + "{}" + "}" * levels


def _set(data: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return data


def test_state_goes_with_the_in_memory_store_only(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["serve", "--state", "s.json", "--store", "redis://127.0.0.1:6379/0"])
    assert code == 2
    assert capsys.readouterr().err == (
        "call-sandbox: --state keeps an in-memory store's calls, a Redis store keeps its own: "
        "drop one\n"
    )


def test_a_state_file_that_could_not_be_written_is_said_at_start_or_at_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sandbox.serve.cli import _save

    absent = tmp_path / "no-such-folder" / "state.json"
    with pytest.raises(StateFileError, match=r"its folder .*no-such-folder does not exist"):
        _sandbox(absent)
    # At shutdown (the server has stopped): the reason, and exit code 1.
    folder = tmp_path / "a-folder"
    (folder / "inside").mkdir(parents=True)
    assert _save(_sandbox(), folder) == 1
    assert capsys.readouterr().err.startswith(
        f"call-sandbox: could not write the state file {folder}: "
    )
    assert _save(_sandbox(), None) == 0


def test_a_second_process_on_the_same_state_file_is_refused(tmp_path: Path) -> None:
    """Two servers appending to one change log would each lose the other's changes: the
    second start stops with one line, and the first keeps its file."""
    path = tmp_path / "state.json"
    holder = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from sandbox import Settings, create_app\n"
        f"create_app(Settings(state_file=Path({str(path)!r})))\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", holder], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline() == "held\n"
            second = subprocess.run(
                [*call_sandbox(), "serve", "--port", str(free_port()), "--state", str(path)],
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            process.kill()
            process.wait(10)
    assert second.returncode == 2
    assert second.stdout == ""
    assert second.stderr == (
        f"call-sandbox: state file {path}: another sandbox is using it (it holds {path}.lock): "
        "stop that one, or give this one its own --state FILE; fix it, or move it away to "
        "start with no saved calls\n"
    )
