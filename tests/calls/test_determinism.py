"""Same seed, same bytes: across fresh apps, request orders and processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sandbox import Settings, create_app
from sandbox.http.inprocess import request
from sandbox.vendors import VENDORS

PATHS_SCRIPT = """
import hashlib, json, sys
from sandbox import Settings, create_app
from sandbox.http.inprocess import request
from sandbox.vendors import VENDORS
app = create_app(Settings(seed=int(sys.argv[1])))
state = app.state.sandbox
digest = hashlib.sha256()
for vendor in VENDORS:
    for index in (int(i) for i in sys.argv[2].split(",")):
        call = state.generator.call("acme", index)
        path = "/" + vendor.name + vendor.lookup_path(vendor.external_id(call))
        digest.update(request(app, "GET", path, headers=state.credentials(vendor.name)).body)
print(digest.hexdigest())
"""


def _digest(seed: int, indices: str, hashseed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    done = subprocess.run(
        [sys.executable, "-c", PATHS_SCRIPT, str(seed), indices],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_two_processes_with_different_hash_seeds_agree() -> None:
    first = _digest(7, "0,1,2,3,4,5,6,7,8,40,400", "1")
    assert first == _digest(7, "0,1,2,3,4,5,6,7,8,40,400", "98765")
    assert first != _digest(8, "0,1,2,3,4,5,6,7,8,40,400", "1")


def test_two_fresh_apps_agree_whatever_the_request_order() -> None:
    bodies = []
    for order in (range(30), reversed(range(30))):
        app = create_app(Settings())
        state = app.state.sandbox
        seen = {}
        for index in order:
            call = state.generator.call("acme", index)
            for vendor in VENDORS:
                path = "/" + vendor.name + vendor.lookup_path(vendor.external_id(call))
                seen[(vendor.name, index)] = request(
                    app, "GET", path, headers=state.credentials(vendor.name)
                ).body
        bodies.append(seen)
    assert bodies[0] == bodies[1]
    assert all(json.loads(b) for b in bodies[0].values())


def test_another_seed_gives_other_data() -> None:
    one = create_app(Settings(seed=1)).state.sandbox.generator.call("acme", 20)
    two = create_app(Settings(seed=2)).state.sandbox.generator.call("acme", 20)
    assert one.id != two.id
    assert one.transcript != two.transcript
