"""What the journal keeps of a request's credentials: nothing.

A header is hidden by its name (Authorization, x-api-key, X-API-SECRET, cookies, and any name
that mentions a key, a secret, a token, a password or auth), a query parameter by a key-like
name, and every value anywhere (headers, query, path, body) by content when it contains a
credential the sandbox knows (a fixture tenant's key or secret, or the key of an open tenant
that exists now). Authorization keeps its scheme ("Bearer [REDACTED]"), which is what a client
gets wrong more often than the key.

Hiding by content takes credentials of MIN_SECRET_LENGTH to MAX_SECRET_LENGTH characters: a
shorter one would hide ordinary text (a one-letter key hid every `e` of every path), and open
tenancy takes no other keys. The known credentials make one compiled pattern, shaped as a
trie (`(?:ab(?:c|d)|x...)`), so that hiding them costs one pass over a text whatever their
number; it is compiled again, on first use, after the credentials change.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 8
MAX_SECRET_LENGTH = 256

_SECRET_HEADER = re.compile(r"key|secret|token|password|auth|cookie", re.IGNORECASE)
_SECRET_PARAM = re.compile(
    r"^(?:.*(?:secret|token|password|passwd|signature|credential).*"
    r"|(?:(?:x[-_])?(?:api|access|auth|private)[-_]?)?key|auth|authorization|sig)$",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9_-]*) +\S")
_END = ""  # marks, in the trie, where a credential ends


def hideable(secret: str) -> bool:
    """Whether `secret` can be hidden by content (see the module's note)."""
    return MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        # Each credential with the number of tenants holding it (two vendors' open tenants
        # may share one key; it stays hidden while one of them is left).
        self._held: dict[str, int] = {}
        self._pattern: re.Pattern[str] | None = None
        self._version = 0  # of the credentials, one more at each change
        self._built = 0  # the version `_pattern` was made from
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> bool:
        """Hide this value wherever it appears from now on (e.g. a key open tenancy adopted);
        False (and nothing hidden by content) when its length is outside the bounds."""
        if not hideable(secret):
            return False
        with self._lock:
            self._held[secret] = self._held.get(secret, 0) + 1
            self._version += 1
        return True

    def remove(self, secret: str) -> None:
        """Stop hiding this value once every `add` of it is undone (its tenant was evicted)."""
        with self._lock:
            held = self._held.get(secret)
            if held is None:
                return
            if held > 1:
                self._held[secret] = held - 1
            else:
                del self._held[secret]
                self._version += 1

    def hides(self, secret: str) -> bool:
        return secret in self._held

    def __len__(self) -> int:
        """How many distinct credentials are hidden by content."""
        return len(self._held)

    def _compiled(self) -> re.Pattern[str] | None:
        if self._built == self._version:
            return self._pattern
        with self._lock:
            secrets, version = tuple(self._held), self._version
        # Compiled without the lock: adding a tenant's key never waits for it.
        pattern = re.compile(_trie(secrets)) if secrets else None
        with self._lock:
            if version > self._built:
                self._pattern, self._built = pattern, version
        return pattern

    def text(self, value: str) -> str:
        """`value` with every known credential in it replaced, and the userinfo of any URL in
        it (`http://user:password@host/`) shown as `***`."""
        pattern = self._compiled()
        if pattern is not None:
            value = pattern.sub(REDACTED, value)
        return _USERINFO.sub(r"\1***@", value) if "@" in value else value

    def header(self, name: str, value: str) -> str:
        """One header's value as the journal shows it (`name` lower-cased)."""
        return _hidden(name, value) if _secret_header(name) else self.text(value)

    def headers(self, raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
        """Lower-cased names; a repeated header's values joined with ', ', as HTTP allows."""
        pattern = self._compiled()
        block = b"\n".join(b"%s\n%s" % pair for pair in raw).decode("latin-1")
        # One look at the whole block: nearly always, no credential is in it but where the
        # header's name says so (no header name or value holds a line break).
        hide = self.text if pattern is not None and pattern.search(block) else _as_is
        joined: dict[str, str] = {}
        for name_bytes, value_bytes in raw:
            name = hide(name_bytes.decode("latin-1").lower())
            value = value_bytes.decode("latin-1")
            value = _hidden(name, value) if _secret_header(name) else hide(value)
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        return joined

    def query(self, items: Sequence[tuple[str, str]]) -> list[list[str]]:
        return [
            [self.text(name), REDACTED if _SECRET_PARAM.match(name) else self.text(value)]
            for name, value in items
        ]

    def body(self, value: Any) -> Any:
        """A JSON value with known credentials and URLs' userinfo hidden in every string
        (keys included)."""
        return self._body(value)

    def _body(self, value: Any) -> Any:
        """`value` itself when nothing in it is hidden (most bodies): copies only what changes."""
        match value:
            case str():
                return self.text(value)
            case Mapping():
                pairs = [(k, v, self.text(str(k)), self._body(v)) for k, v in value.items()]
                if all(k == nk and v is nv for k, v, nk, nv in pairs):
                    return value
                return {nk: nv for _, _, nk, nv in pairs}
            case list():
                items = [self._body(item) for item in value]
                return value if all(a is b for a, b in zip(items, value, strict=True)) else items
            case _:
                return value


# A URL's userinfo: what `scheme://` is followed by up to an `@` before the host's end
# (a webhook_url such as http://user:password@host/hook is shown as http://***@host/hook).
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]*@")


def _as_is(text: str) -> str:
    return text


@lru_cache(maxsize=1024)
def _secret_header(name: str) -> bool:
    """Whether a header's name says it carries a credential (the same few names come again
    and again)."""
    return _SECRET_HEADER.search(name) is not None


def _hidden(name: str, value: str) -> str:
    scheme = _SCHEME.match(value) if name in ("authorization", "proxy-authorization") else None
    return f"{scheme['scheme']} {REDACTED}" if scheme else REDACTED


def _trie(secrets: Iterable[str]) -> str:
    """One pattern matching any of `secrets`, the longest where several start at one place."""
    root: dict[str, Any] = {}
    for secret in secrets:
        node = root
        for char in secret:
            node = node.setdefault(char, {})
        node[_END] = {}
    return _branches(root)


def _branches(node: dict[str, Any]) -> str:
    """The pattern of what may follow `node`; runs without a fork are one literal, so the
    nesting (and the recursion here) is as deep as the forks, at most MAX_SECRET_LENGTH."""
    alternatives = []
    for char, child in sorted(node.items()):
        if char == _END:
            continue
        run = [char]
        while len(child) == 1 and _END not in child:
            ((char, child),) = child.items()
            run.append(char)
        alternatives.append(re.escape("".join(run)) + _branches(child))
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    # Greedy: where one credential ends and a longer one goes on, the longer is tried first.
    return f"(?:{body})?" if _END in node else body
