"""`call-sandbox check | show | keys` as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sandbox.dialect.vendor import VendorSandbox
from sandbox.resources import fixtures_dir
from sandbox.serve.cli import main
from sandbox.vendors import VENDORS


def test_check_passes_on_the_embedded_fixtures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: ")
    assert f"for {len(VENDORS)} vendors; 0 broke their schema" in out


def test_check_reports_a_broken_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir(), target)
    text = (target / "sandbox.yaml").read_text().replace("window_days: 30", "window_days: -3")
    (target / "sandbox.yaml").write_text(text)
    assert main(["check", "--fixtures", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"{target / 'sandbox.yaml'}: does not match schemas/fixtures/sandbox.json" in err
    assert "population.window_days: -3 is less than the minimum of 1" in err


def test_show_prints_what_the_vendor_answers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "retell", "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["call_id"] == "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"
    assert "GET /retell/v2/get-call/Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6 -> 200" in captured.err


def test_show_an_unknown_call_prints_the_vendor_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "retell", "call_nope"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "error"


@pytest.mark.parametrize("vendor", [v.name for v in VENDORS])
def test_show_exits_1_on_every_vendors_not_found(
    vendor: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Callab answers an unknown call 200 with `"status": "error"`; that is a not-found too."""
    assert main(["show", vendor, "550e8400-e29b-41d4-a716-44665544ffff"]) == 1
    assert capsys.readouterr().out.strip()


def test_show_takes_the_vendors_query_flags(capsys: pytest.CaptureFixture[str]) -> None:
    docs_call = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    flags = ["--transcript-format", "toon", "--include-words", "true", "--include-tools", "false"]
    assert main(["show", "contactship", docs_call, *flags]) == 0
    captured = capsys.readouterr()
    query = "include_words=true&include_tools=false&transcript_format=toon"
    assert f"GET /contactship/v1/calls/{docs_call}?{query} -> 200" in captured.err
    body = json.loads(captured.out)
    assert body["transcript_format"] == "toon"
    assert body["chat_history"].startswith("[")


def test_show_refuses_a_flag_the_vendor_does_not_take(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "retell", "x", "--include-words", "true"]) == 2
    assert capsys.readouterr().err == (
        "Retell AI's get-call takes no --include-words (it takes none)\n"
    )


def test_show_rejects_unknown_vendor(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "twilio", "x"]) == 2
    assert "unknown vendor 'twilio'" in capsys.readouterr().err


def test_keys_json_is_the_default_tenants_headers(
    capsys: pytest.CaptureFixture[str], state: VendorSandbox
) -> None:
    assert main(["keys", "--json"]) == 0
    keys = json.loads(capsys.readouterr().out)
    assert set(keys) == {v.name for v in VENDORS}
    assert keys["retell"] == {
        "Authorization": f"Bearer {state.default_tenant.keys['retell']['api_key']}"
    }


def test_keys_lists_every_tenant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys"]) == 0
    out = capsys.readouterr().out
    assert "acme (default): Authorization: Bearer key_" in out
    assert "globex: Authorization: Bearer key_" in out
