"""The redactor: credentials of 8 to 256 characters hidden by content in one pass (a trie-shaped
pattern, the longest credential where several start at one place), hidden by name whatever
their length, counted per holder, and compiled again only after a change."""

from __future__ import annotations

import random
import re
import string

import pytest

from sandbox.store.redaction import (
    MAX_SECRET_LENGTH,
    MIN_SECRET_LENGTH,
    REDACTED,
    Redactor,
    hideable,
)


def _naive(secrets: list[str], text: str) -> str:
    """What the redactor must answer: leftmost, then longest, credential first."""
    return re.sub("|".join(map(re.escape, sorted(secrets, key=len, reverse=True))), REDACTED, text)


def test_short_and_overlong_values_are_not_hidden_by_content() -> None:
    redactor = Redactor(["e", "1234567", "x" * (MAX_SECRET_LENGTH + 1)])
    assert len(redactor) == 0
    assert redactor.text("/retell/v2/get-call/1234567e") == "/retell/v2/get-call/1234567e"
    assert not redactor.add("abc")
    assert redactor.add("a" * MIN_SECRET_LENGTH)
    assert (hideable("a" * 7), hideable("a" * 8), hideable("a" * 256)) == (False, True, True)


def test_the_header_that_carries_a_key_is_hidden_by_name_whatever_its_length() -> None:
    redactor = Redactor()
    headers = redactor.headers([(b"Authorization", b"Bearer e"), (b"X-API-KEY", b"k")])
    assert headers == {"authorization": f"Bearer {REDACTED}", "x-api-key": REDACTED}


def test_the_longest_credential_wins_and_every_occurrence_goes() -> None:
    secrets = ["key_abcdefgh", "key_abcdefgh_long", "key_abcdefgX"]
    redactor = Redactor(secrets)
    text = "a key_abcdefgh_long b key_abcdefgh c key_abcdefgXY key_abcdefg"
    assert redactor.text(text) == (
        f"a {REDACTED} b {REDACTED} c {REDACTED}Y key_abcdefg"  # (the last is no credential)
    )


def test_one_pass_gives_what_replacing_each_credential_gave() -> None:
    rng = random.Random(20260320)
    alphabet = string.ascii_letters + string.digits + "_-/.+="
    secrets = ["".join(rng.choice(alphabet) for _ in range(rng.randint(8, 40))) for _ in range(500)]
    secrets += [secrets[0] + "tail", secrets[1][:-1] + "!"]  # prefixes and near misses
    redactor = Redactor(secrets)
    for _ in range(200):
        pieces = [rng.choice(secrets) if rng.random() < 0.3 else rng.choice(alphabet) * 3]
        pieces += [rng.choice(alphabet) for _ in range(rng.randint(0, 5))]
        text = "".join(pieces * rng.randint(1, 4))
        assert redactor.text(text) == _naive(secrets, text)


def test_deep_forks_still_compile() -> None:
    """Every length of one letter: the pattern nests as deep as the credentials are long."""
    secrets = ["a" * n for n in range(MIN_SECRET_LENGTH, MAX_SECRET_LENGTH + 1)]
    redactor = Redactor(secrets)
    assert redactor.text("b" + "a" * 300 + "b") == f"b{REDACTED}{REDACTED}b"


def test_a_credential_two_tenants_hold_stays_hidden_until_both_let_go() -> None:
    redactor = Redactor()
    redactor.add("shared_key_1")
    redactor.add("shared_key_1")
    redactor.remove("shared_key_1")
    assert redactor.text("shared_key_1") == REDACTED
    redactor.remove("shared_key_1")
    assert redactor.text("shared_key_1") == "shared_key_1"
    redactor.remove("never_added")  # (nothing to undo)
    assert len(redactor) == 0


def test_the_pattern_is_compiled_once_per_change(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real = re.compile

    def counting(pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append(pattern)
        return real(pattern, flags)

    redactor = Redactor([f"tenant_key_{n:04d}" for n in range(1_000)])
    monkeypatch.setattr("sandbox.store.redaction.re.compile", counting)
    for _ in range(100):
        redactor.text("nothing to hide here")
    assert len(compiled) == 1
    redactor.add("another_key")
    redactor.remove("another_key")
    redactor.text("tenant_key_0001")
    assert len(compiled) == 2


def test_bodies_and_query_pairs() -> None:
    redactor = Redactor(["key_secret_1"])
    body = {"key_secret_1": ["a key_secret_1", 3, None, {"n": True}]}
    assert redactor.body(body) == {REDACTED: [f"a {REDACTED}", 3, None, {"n": True}]}
    assert redactor.query([("api_key", "short"), ("note", "key_secret_1!")]) == [
        ["api_key", REDACTED],
        ["note", f"{REDACTED}!"],
    ]
    assert Redactor().body(body) is body  # (nothing known: nothing to copy)


def test_a_urls_userinfo_is_hidden_wherever_it_stands() -> None:
    """A ContactShip webhook_url with a password, as the journal shows the request's body."""
    redactor = Redactor()
    body = {
        "webhook_url": "http://user:s3cret@127.0.0.1:9/hook",
        "notes": ["see https://token@example.com/x", "mail ada@example.com"],
    }
    assert redactor.body(body) == {
        "webhook_url": "http://***@127.0.0.1:9/hook",
        "notes": ["see https://***@example.com/x", "mail ada@example.com"],
    }
    assert redactor.text("?u=ftp://a:b@h") == "?u=ftp://***@h"
