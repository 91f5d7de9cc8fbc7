"""Every example in the README runs as written.

Each fenced block is found and run the way a reader would use it: the curl lines against a
`call-sandbox serve` (its port in place of 8080), the SDK snippets as scripts against it, the
pytest examples as a test file under the installed plugin, `call-sandbox serve ...` lines
through the CLI's own argument parser, YAML through a YAML parser, the TOON excerpt against
the answer it shows, the package map against `sandbox/`. Setup lines (venv, pip, apt-get,
docker) name only extras and files that exist. A block of any other kind fails the test: a
new example cannot go unchecked.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from sandbox import Settings, create_app
from sandbox.calls.packs import compile_pack, pack_for
from sandbox.http.inprocess import request
from sandbox.resources import schemas_dir
from sandbox.schemas import SchemaRegistry
from sandbox.serve.cli import parser
from tests.servers import Served, call_sandbox, free_port, served

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
TIMEOUT_S = 120


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    code: str

    @property
    def id(self) -> str:
        return f"L{self.line}-{self.lang or 'text'}"


BLOCKS = [
    Block(README[: m.start()].count("\n") + 1, m.group(1), m.group(2))
    for m in re.finditer(r"```(\w*)\n(.*?)\n```", README, re.S)
]


def _commands(code: str) -> list[str]:
    """Shell lines with continuations joined and comment-only lines kept (they carry the
    expected status of the curl above them)."""
    return code.replace("\\\n", " ").splitlines()


SETUP = re.compile(r"^(python3 -m venv|\.venv/bin/|pip install|apt-get install|docker build)")


def _kind(block: Block) -> str:
    if block.lang == "sh":
        commands = [c for c in _commands(block.code) if c.strip() and not c.startswith("#")]
        if all(SETUP.match(c) for c in commands):
            return "setup"
        return "shell"
    if block.lang == "python":
        return "pytest" if "def test_" in block.code else "script"
    if block.lang == "yaml":
        return "pack" if block.code.lstrip().startswith("# fixtures/dialogues/") else "yaml"
    if block.code.startswith("Agent: "):
        return "conversation"
    if block.code.startswith("[") and "role:" in block.code:
        return "toon"
    if "state.py" in block.code and "calls/" in block.code:
        return "map"
    return "unknown"


def _of(kind: str) -> list[Block]:
    return [b for b in BLOCKS if _kind(b) == kind]


def test_every_block_is_of_a_kind_this_file_runs() -> None:
    assert [b.id for b in BLOCKS if _kind(b) == "unknown"] == []
    assert len(_of("shell")) >= 8
    assert len(_of("pytest")) >= 4


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    argv = [*call_sandbox(), "serve", "--port", str(port), "--no-access-log"]
    with served(argv, url=f"http://127.0.0.1:{port}", logs=tmp_path_factory.mktemp("readme")) as s:
        s.wait_healthy()
        yield s


def _local(text: str, server: Served) -> str:
    return text.replace("http://127.0.0.1:8080", server.url)


# A curl that records the status it got, so that the test can say which line answered what.
CURL = """
n=0
curl() {
  n=$((n+1))
  code=$(command curl -sS --max-time 10 -o "$OUT/$n.body" -w '%{http_code}' "$@")
  echo "$code" >> "$OUT/codes"
}
"""


def _expected_statuses(code: str) -> list[int]:
    """For each curl of a block: 200-299 unless the comment line after it starts with a
    status (`# 429 {...}`)."""
    expected: list[int] = []
    for line in _commands(code):
        stripped = line.strip()
        if stripped.startswith("curl "):
            expected.append(0)
        elif expected and (found := re.match(r"# (\d{3}) ", stripped)):
            expected[-1] = int(found.group(1))
    return expected


@pytest.mark.skipif(
    shutil.which("curl") is None, reason="curl is not installed (apt-get install curl)"
)
@pytest.mark.parametrize("block", _of("shell"), ids=lambda b: b.id)
def test_shell_examples_run(block: Block, server: Served, tmp_path: Path) -> None:
    assert httpx.post(server.url + "/_sandbox/reset").status_code == 200
    script: list[str] = []
    for command in _commands(block.code):
        words = shlex.split(command, comments=True)
        if words[:2] == ["call-sandbox", "serve"]:
            parser().parse_args(words[1:])  # a flag or value it does not take exits 2
        elif SETUP.match(command):
            _check_setup(command)
        elif words and words[0] not in ("curl",) and "=" not in words[0]:
            pytest.fail(f"README line {block.line}: no way to run {command!r}")
        else:
            script.append(_local(command, server))
    run = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + CURL + "\n".join(script)],
        env={"OUT": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert run.returncode == 0, run.stderr
    expected = _expected_statuses(block.code)
    codes = (tmp_path / "codes").read_text().split() if expected else []
    assert len(codes) == len(expected)
    for number, (got, wanted) in enumerate(zip(codes, expected, strict=True), 1):
        body = (tmp_path / f"{number}.body").read_text(errors="replace")[:300]
        if wanted:
            assert int(got) == wanted, (block.line, number, body)
        else:
            assert 200 <= int(got) < 300, (block.line, number, got, body)


@pytest.mark.parametrize("block", _of("script"), ids=lambda b: b.id)
def test_python_scripts_run(block: Block, server: Served, tmp_path: Path) -> None:
    assert httpx.post(server.url + "/_sandbox/reset").status_code == 200
    script = tmp_path / "example.py"
    script.write_text(_local(block.code, server))
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert run.returncode == 0, run.stderr


def test_pytest_examples_pass_under_the_plugin(tmp_path: Path) -> None:
    blocks = _of("pytest")
    for block in blocks:
        (tmp_path / f"test_readme_l{block.line}.py").write_text(block.code + "\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    tests = sum(len(re.findall(r"^def test_", b.code, re.M)) for b in blocks)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{tests} passed" in run.stdout, run.stdout


@pytest.mark.parametrize("block", _of("yaml"), ids=lambda b: b.id)
def test_yaml_examples_parse(block: Block) -> None:
    assert isinstance(yaml.safe_load(block.code), dict)


def test_the_example_pack_is_a_pack_the_sandbox_takes() -> None:
    """Validated by the packs' schema and compiled as the fixtures loader compiles packs."""
    (block,) = _of("pack")
    raw = yaml.safe_load(block.code)
    registry = SchemaRegistry.load(schemas_dir())
    assert registry.problems("fixtures/dialogues.json", raw) == []
    pack = compile_pack(raw, "README")
    assert pack_for("pizza", "en-US", [pack]) is pack


@pytest.mark.parametrize("block", _of("conversation"), ids=lambda b: b.id)
def test_the_conversations_shown_are_what_the_sandbox_generates(block: Block) -> None:
    """The README's two conversations are the transcripts Retell answers for the calls they
    name (the default fixtures and seed): what a reader sees is what a client gets."""
    before = README[: README.index(block.code)]
    call_id = re.findall(r"Retell `(call_[0-9a-f]{32})`", before)[-1]
    app = create_app(Settings())
    state = app.state.sandbox
    answer = request(
        app, "GET", f"/retell/v2/get-call/{call_id}", headers=state.credentials("retell")
    )
    assert answer.status == 200
    transcript = json.loads(answer.body)["transcript"]
    assert transcript == block.code + "\n"  # (Retell ends each turn with a line break)


def test_the_toon_excerpt_is_what_the_docs_call_answers(server: Served) -> None:
    (block,) = _of("toon")
    key = "cs_3eb0371e9caef21add373c6702696b4682ff57b5"
    answer = httpx.get(
        server.url + "/contactship/v1/calls/a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        params={"transcript_format": "toon", "include_words": "true"},
        headers={"x-api-key": key},
    )
    shown = answer.json()["chat_history"].splitlines()
    for line in block.code.splitlines():
        if line.strip() != "...":
            assert line in shown


def test_the_map_names_what_is_there() -> None:
    (block,) = _of("map")
    named = [
        re.findall(r"[a-z_]+(?:/|\.py)", line.split("  ")[0]) for line in block.code.splitlines()
    ]
    assert all(named)
    for name in (n for names in named for n in names):
        assert (ROOT / "sandbox" / name).exists(), name


EXTRAS = set(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
)


def _check_setup(command: str) -> None:
    """A setup line installs what exists: the extras it names, the Dockerfile it builds. (The
    quickstart's two lines are run as written by CI.)"""
    for named in re.findall(r"\[([a-z,]+)\]", command):
        assert set(named.split(",")) <= EXTRAS, (command, named)
    if "docker build" in command:
        assert (ROOT / "Dockerfile").is_file()


def test_setup_lines_name_what_exists() -> None:
    for block in _of("setup"):
        for command in _commands(block.code):
            _check_setup(command)
