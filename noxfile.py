"""Developer sessions: ``uv run nox -s tests lint imports types coverage`` (or ``uv run nox`` for all).

Each session syncs a uv-backed virtualenv from ``uv.lock`` (frozen), so results match ``uv run``.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "imports", "types", "tests", "coverage"]

PYTHON = "3.11"
PACKAGES = ["domain", "application", "web", "infrastructure", "bootstrap"]
TYPED_SOURCES = [f"packages/{name}/src" for name in PACKAGES]


def _sync(session: nox.Session) -> None:
    """Install the locked workspace (dev group included) into the session's virtualenv."""
    session.run_install(
        "uv",
        "sync",
        "--frozen",
        "--inexact",
        f"--python={session.virtualenv.location}",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
    )


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole pytest suite (unit, contract, e2e); extra arguments go to pytest."""
    _sync(session)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    _sync(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def imports(session: nox.Session) -> None:
    """import-linter layer contracts."""
    _sync(session)
    session.run("lint-imports")


@nox.session(python=PYTHON)
def types(session: nox.Session) -> None:
    """mypy --strict on all five workspace packages (settings in pyproject.toml's ``[tool.mypy]`` tables)."""
    _sync(session)
    session.run("mypy", "--strict", *TYPED_SOURCES)


@nox.session(python=PYTHON)
def coverage(session: nox.Session) -> None:
    """The whole suite with branch coverage (subprocesses included), then the per-package line and branch gate."""
    _sync(session)
    session.run("pytest", "-n", "auto", "--cov", *session.posargs)
    session.run("python", "-m", "tests.support.coverage_gate")
