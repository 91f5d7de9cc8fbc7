"""The webhook URL policy (sandbox.webhooks.urls) and how URLs are shown: what is allowed,
what is refused and with which words, and userinfo redacted."""

from __future__ import annotations

import pytest

from sandbox.webhooks.urls import redact, redact_in, refusal

LINK_LOCAL = (
    "a link-local address (169.254.0.0/16, fe80::/10), where clouds serve metadata; use the "
    "receiver's own address, or start the sandbox with --webhook-allow-link-local to allow it"
)
METADATA = (
    "a cloud metadata address; use the receiver's own address, or start the sandbox with "
    "--webhook-allow-link-local to allow it"
)
METADATA_NAME = (
    "a cloud metadata host name; use the receiver's own address, or start the sandbox with "
    "--webhook-allow-link-local to allow it"
)
INVALID = "is not a valid URL (check its host and port): send an absolute http:// or https:// URL"
NOWHERE = (
    "nothing receives webhooks there; use the receiver's own address (127.0.0.1 for this machine)"
)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost:9000/hook",
        "http://[::1]:9000/hook",
        "https://receiver/hook",  # a service name
        "http://receiver.ci.svc.cluster.local/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.10:8080/hook",
        "http://100.64.0.1/hook",  # carrier-grade NAT, as Tailscale uses
        "http://[fd12:3456::1]/hook",
        "https://hooks.example.com/a?b=c",
        "http://user:password@127.0.0.1/hook",
        "http://metadata/hook",  # a service may be called that
    ],
)
def test_allowed(url: str) -> None:
    assert refusal(url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "http://169.254.169.254/latest/meta-data/",
            f"must not point at 169.254.169.254, {LINK_LOCAL}",
        ),
        ("http://169.254.170.2/v2/credentials", f"must not point at 169.254.170.2, {LINK_LOCAL}"),
        (
            "http://169.254.169.254./",
            f"must not point at 169.254.169.254. (169.254.169.254), {LINK_LOCAL}",
        ),
        ("http://[fe80::1]/", f"must not point at fe80::1, {LINK_LOCAL}"),
        ("http://[fe80::1%25eth0]/", f"must not point at fe80::1%25eth0 (fe80::1), {LINK_LOCAL}"),
        (
            "http://2852039166/",
            f"must not point at 2852039166 (169.254.169.254), {LINK_LOCAL}",
        ),
        (
            "http://0xa9.0xfe.0xa9.0xfe/",
            f"must not point at 0xa9.0xfe.0xa9.0xfe (169.254.169.254), {LINK_LOCAL}",
        ),
        (
            "http://0251.0376.0251.0376/",
            f"must not point at 0251.0376.0251.0376 (169.254.169.254), {LINK_LOCAL}",
        ),
        (
            "http://[::ffff:169.254.169.254]/",
            f"must not point at ::ffff:169.254.169.254 (169.254.169.254), {LINK_LOCAL}",
        ),
        (
            "http://[64:ff9b::a9fe:a9fe]/",
            f"must not point at 64:ff9b::a9fe:a9fe (169.254.169.254), {LINK_LOCAL}",
        ),
        (
            "http://169\u3002254\u3002169\u3002254/",
            f"must not point at 169\u3002254\u3002169\u3002254 (169.254.169.254), {LINK_LOCAL}",
        ),
        (
            "http://100.100.100.200/latest/meta-data/",
            f"must not point at 100.100.100.200, {METADATA}",
        ),
        ("http://[fd00:ec2::254]/latest/", f"must not point at fd00:ec2::254, {METADATA}"),
        ("http://168.63.129.16/machine", f"must not point at 168.63.129.16, {METADATA}"),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            f"must not point at metadata.google.internal, {METADATA_NAME}",
        ),
        (
            "http://Metadata.Google.Internal./",
            f"must not point at metadata.google.internal., {METADATA_NAME}",
        ),
        (
            "http://0.0.0.0:9000/",
            f"must not point at 0.0.0.0, an unspecified address (0.0.0.0/8): {NOWHERE}",
        ),
        (
            "http://0/",
            f"must not point at 0 (0.0.0.0), an unspecified address (0.0.0.0/8): {NOWHERE}",
        ),
        ("http://[::]/", f"must not point at ::, the unspecified address (::): {NOWHERE}"),
        (
            "http://224.0.0.1/",
            f"must not point at 224.0.0.1, a multicast address (224.0.0.0/4): {NOWHERE}",
        ),
        (
            "http://[ff02::1]/",
            f"must not point at ff02::1, a multicast address (ff00::/8): {NOWHERE}",
        ),
        (
            "http://255.255.255.255/",
            f"must not point at 255.255.255.255, the broadcast address: {NOWHERE}",
        ),
        (
            "http://240.0.0.1/",
            f"must not point at 240.0.0.1, a reserved address (240.0.0.0/4): {NOWHERE}",
        ),
        ("ftp://example.com/hook", "is not an absolute http:// or https:// URL"),
        ("file:///etc/passwd", "is not an absolute http:// or https:// URL"),
        ("gopher://127.0.0.1:6379/_", "is not an absolute http:// or https:// URL"),
        ("http:///hook", "is not an absolute http:// or https:// URL"),
        ("http://127.0.0.1:99999/", INVALID),
        ("http://[::1/", INVALID),
    ],
)
def test_refused(url: str, reason: str) -> None:
    assert refusal(url) == reason


def test_the_flag_allows_link_local_and_metadata_but_never_unusable_addresses() -> None:
    for url in (
        "http://169.254.169.254/",
        "http://[fe80::1]/",
        "http://100.100.100.200/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/",
    ):
        assert refusal(url, allow_link_local=True) is None
    assert refusal("http://0.0.0.0/", allow_link_local=True) == (
        f"must not point at 0.0.0.0, an unspecified address (0.0.0.0/8): {NOWHERE}"
    )
    assert (
        refusal("ftp://x/", allow_link_local=True) == "is not an absolute http:// or https:// URL"
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:s3cret@127.0.0.1:9/hook", "http://***@127.0.0.1:9/hook"),
        ("https://token@hooks.example.com/a", "https://***@hooks.example.com/a"),
        ("http://a@b:c@host/p", "http://***@host/p"),  # the authority ends at its last @
        ("http://host/p?next=a@b", "http://host/p?next=a@b"),  # an @ past the authority
        ("http://host/hook", "http://host/hook"),
        ("sandbox://sink", "sandbox://sink"),
    ],
)
def test_userinfo_is_redacted(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_userinfo_is_redacted_inside_error_messages() -> None:
    url = "http://user:s3cret@127.0.0.1:9/hook"
    text = f"ConnectError: could not reach {url} as user:s3cret@"
    assert redact_in(text, url) == (
        "ConnectError: could not reach http://***@127.0.0.1:9/hook as ***@"
    )
    assert redact_in("no URL here", "http://127.0.0.1/") == "no URL here"
