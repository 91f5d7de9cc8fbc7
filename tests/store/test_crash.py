"""`call-sandbox serve --state FILE` killed with SIGKILL under load: every call it answered
comes back, byte for byte, and the next start says in one line what it recovered."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx

from tests.servers import serve, wait_for

RETELL = {"Authorization": "Bearer key_127f60598b07bc1e334fd13b8d"}
NUMBERS = {"from_number": "+14155550142", "to_number": "+12125550101"}
MADE = 200
MORE_AT_MOST = 2_000  # creates while the kill comes (bounded; the kill comes far sooner)


def test_sigkill_under_load_loses_no_acknowledged_call(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with serve(tmp_path / "first", "--state", str(state_file)) as server:
        with httpx.Client(base_url=server.url, timeout=10.0) as client:
            made = []
            for _ in range(MADE):
                answer = client.post("/retell/v2/create-phone-call", headers=RETELL, json=NUMBERS)
                assert answer.status_code == 201, answer.text
                made.append(answer.json()["call_id"])
            bodies = {i: client.get(f"/retell/v2/get-call/{i}", headers=RETELL) for i in made}
        assert {b.status_code for b in bodies.values()} == {200}

        # More creates from another thread, and the kill lands in the middle of them.
        acknowledged: list[str] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=server.url, timeout=10.0) as client:
                for _ in range(MORE_AT_MOST):
                    if stop.is_set():
                        return
                    try:
                        answer = client.post(
                            "/retell/v2/create-phone-call", headers=RETELL, json=NUMBERS
                        )
                    except httpx.HTTPError:
                        return  # the server is gone
                    assert answer.status_code == 201, answer.text
                    acknowledged.append(answer.json()["call_id"])

        loader = threading.Thread(target=load, name="creates")
        loader.start()
        try:
            wait_for(lambda: len(acknowledged) >= 20, 30.0, "20 more acknowledged creates")
            server.process.kill()
            server.process.wait(10)
        finally:
            stop.set()
            loader.join(30)
        assert not loader.is_alive()
    assert not state_file.exists()  # never stopped cleanly: only the change log has them

    with serve(tmp_path / "second", "--state", str(state_file)) as server:
        errors = (tmp_path / "second" / "stderr.txt").read_text()
        found = re.search(
            r"^state: recovered after an unclean stop: (\d+) created, 0 patched, 0 deleted "
            rf"from the change log {re.escape(str(state_file))}\.log(; ignored .*)?$",
            errors,
            re.MULTILINE,
        )
        assert found is not None, server.output()
        assert found.group(0) in server.stdout()  # the banner says it too
        # Every call answered, and at most the one whose answer the kill cut off.
        recovered = int(found.group(1))
        assert MADE + len(acknowledged) <= recovered <= MADE + len(acknowledged) + 1
        with httpx.Client(base_url=server.url, timeout=10.0) as client:
            for call_id, before in bodies.items():
                after = client.get(f"/retell/v2/get-call/{call_id}", headers=RETELL)
                assert (after.status_code, after.content) == (200, before.content)
            for call_id in acknowledged:
                after = client.get(f"/retell/v2/get-call/{call_id}", headers=RETELL)
                assert after.status_code == 200, call_id
        code, _ = server.terminate()
        assert code == 0, server.output()
    # A clean stop this time: a snapshot with all of them, and no log.
    assert not Path(f"{state_file}.log").exists()
    with serve(tmp_path / "third", "--state", str(state_file)) as server:
        assert "unclean stop" not in server.output()
        assert f"({recovered} created, 0 patched, 0 deleted;" in server.stdout()
        assert server.terminate()[0] == 0
