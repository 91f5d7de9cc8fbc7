"""Fixture files: the embedded set loads, and every mistake names the file, key path and fix."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox import Settings, create_app
from sandbox.calls.fixtures import FixtureError, load_fixtures
from sandbox.resources import fixtures_dir, schemas_dir
from sandbox.schemas import SchemaRegistry


@pytest.fixture
def schemas() -> SchemaRegistry:
    return SchemaRegistry.load(schemas_dir())


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir(), target)
    return target


def _edit(folder: Path, change: Callable[[dict[str, Any]], object]) -> None:
    path = folder / "sandbox.yaml"
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document))


def test_embedded_fixtures_load(schemas: SchemaRegistry) -> None:
    fixtures = load_fixtures(fixtures_dir(), schemas)
    assert fixtures.default_tenant == "acme"
    assert set(fixtures.tenants) == {"acme", "globex"}
    assert fixtures.pinned


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("seed"), '(top level): "seed" is a required property'),
        (lambda d: d.update(seed="one"), 'seed: "one" is not of type "integer"'),
        (lambda d: d["population"]["scenario_mix"].update(ringing=3), "population.scenario_mix"),
        (
            lambda d: d["tenants"][0]["agents"][0].update(topic="weather"),
            "agent Ava Appointments: no dialogue pack serves topic 'weather' in en-US",
        ),
        (
            lambda d: d["tenants"][0]["agents"][0].update(topic="Weather"),
            "tenants.0.agents.0.topic: 'Weather' does not match",
        ),
        (
            lambda d: d["tenants"][1].update(packs=["healthcare", "nope"]),
            "tenant globex: packs: no dialogue pack ['nope']",
        ),
        (
            lambda d: d.update(reference_instant="yesterday"),
            "reference_instant: 'yesterday' does not match",
        ),
        (lambda d: d["tenants"][1].update(id="acme"), "every tenant id must be unique"),
        (lambda d: d["tenants"][1].update(default=True), "only one tenant may say default: true"),
    ],
)
def test_mistakes_are_reported_with_file_and_key_path(
    copy: Path, schemas: SchemaRegistry, change: Callable[[dict[str, Any]], object], expected: str
) -> None:
    _edit(copy, change)
    with pytest.raises(FixtureError) as caught:
        load_fixtures(copy, schemas)
    assert str(copy / "sandbox.yaml") in str(caught.value)
    # (Values are quoted as JSON or as Python spells them: either reads as meant.)
    assert expected.replace("'", '"') in str(caught.value).replace("'", '"')


def test_not_yaml(copy: Path, schemas: SchemaRegistry) -> None:
    (copy / "sandbox.yaml").write_text("seed: [unclosed\n")
    with pytest.raises(FixtureError, match="not valid YAML"):
        load_fixtures(copy, schemas)


def test_pinned_call_with_unknown_tenant(copy: Path, schemas: SchemaRegistry) -> None:
    pinned = copy / "calls" / "retell-docs.yaml"
    pinned.write_text(pinned.read_text().replace("tenant: acme", "tenant: nobody", 1))
    with pytest.raises(FixtureError, match=r"retell-docs.yaml: calls.0.tenant: no tenant 'nobody'"):
        load_fixtures(copy, schemas)


def _rename_retell_key(document: dict[str, Any]) -> None:
    document["tenants"][0]["keys"]["retell"] = {"token": "key_x"}


def test_vendor_credentials_are_checked_at_start(copy: Path) -> None:
    _edit(copy, _rename_retell_key)
    with pytest.raises(
        FixtureError,
        match=r"tenant acme: keys.retell.api_key: required; keys.retell.token: unknown field",
    ):
        create_app(Settings(fixtures=copy))


def test_seed_override(copy: Path) -> None:
    app = create_app(Settings(fixtures=copy, seed=7))
    assert app.state.sandbox.fixtures.seed == 7
