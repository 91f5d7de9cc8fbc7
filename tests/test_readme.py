"""The README says what the project does: its commands and keys stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from sandbox.dialect.vendor import VendorSandbox
from sandbox.vendors import VENDORS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _quickstart_commands() -> list[str]:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_the_two_commands() -> None:
    serve, test = _quickstart_commands()
    assert serve.endswith("call-sandbox serve")
    assert test.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, test = _quickstart_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == test


def test_every_vendor_and_default_key_is_documented(state: VendorSandbox) -> None:
    for vendor in VENDORS:
        assert f"http://127.0.0.1:8080/{vendor.name}{vendor.base_path}`" in README
        assert vendor.docs_base_url in README
        for header, value in state.credentials(vendor.name).items():
            assert f"{header}: {value}" in README
