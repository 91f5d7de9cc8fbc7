"""Where the embedded fixtures and schemas live.

A checkout (or editable install) keeps them at the top of the repository; a wheel carries them
inside the package as `sandbox/_data/`. One function answers for both.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The embedded `fixtures` or `schemas` folder, from a wheel or from a checkout."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"the sandbox's {name}/ folder is missing: looked in {_PACKAGE / '_data' / name} "
        f"and {_PACKAGE.parent / name}; reinstall call-sandbox"
    )


def fixtures_dir(override: Path | None = None) -> Path:
    return override if override is not None else data_dir("fixtures")


def schemas_dir() -> Path:
    return data_dir("schemas")
