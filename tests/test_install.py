"""The built wheel, installed into a fresh virtual environment, as a user gets it.

What it proves: the wheel installs nothing under a generic top-level name (`actors`, `store`), so a
user's script that sits beside its own `store.py` and `actors/` package still runs runtui; and
`runtui run --demo` finds the demo shipped inside the wheel. The fresh environment takes its
third-party libraries from this test environment (a path file), so nothing is downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
         str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding only the wheel (its dependencies come from this environment)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Only the libraries: this environment's own path files (the editable checkout) are not read.
    Path(site, "libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNTUI_", "PYTHON"))}
    env["HOME"] = str(tmp)
    env["XDG_DATA_HOME"] = str(tmp / "data")
    return env


def test_the_wheel_installs_nothing_under_a_generic_name(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"runtui"}
    assert wheel.name.startswith("runtui_orchestrator-")


def test_a_script_beside_its_own_store_and_actors_uses_runtui(
    fresh_python: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "actors").mkdir(parents=True)
    (project / "store.py").write_text("SHELF = 'the user module'\n")
    (project / "actors" / "__init__.py").write_text("CAST = 'the user package'\n")
    (project / "script.py").write_text(
        textwrap.dedent(
            """
            import sys

            import actors
            import store
            from runtui.cli import main

            assert store.SHELF == "the user module" and actors.CAST == "the user package"
            try:
                main(["--db", sys.argv[1], "run", "--demo"])
            except SystemExit as end:
                print("exit", end.code)
            """
        )
    )
    done = subprocess.run(
        [str(fresh_python), "script.py", str(tmp_path / "runs.db")],
        cwd=project,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "exit 7" in done.stdout  # the demo ran to its gate
    assert "waiting: task approval for publish-gate" in done.stdout
    installed = Path(
        subprocess.run(
            [str(fresh_python), "-c", "import runtui.store; print(runtui.store.__file__)"],
            cwd=project,
            env=_clean_env(tmp_path),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    assert ROOT not in installed.parents  # the wheel's copy, not this checkout


def test_runtui_run_demo_from_the_installed_wheel(fresh_python: Path, tmp_path: Path) -> None:
    runtui = fresh_python.parent / "runtui"
    done = subprocess.run(
        [str(runtui), "--db", str(tmp_path / "runs.db"), "run", "--demo"],
        cwd=tmp_path,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 7, done.stderr
    # The printed next step names this program by its path: the venv is not on PATH here.
    assert f"approve: {runtui} --db {tmp_path / 'runs.db'} approve " in done.stdout


def test_the_readme_python_example_runs_on_the_installed_wheel(
    fresh_python: Path, tmp_path: Path
) -> None:
    from tests.port.test_public_api import check_readme_output, run_readme_example

    check_readme_output(run_readme_example(fresh_python, tmp_path, env=_clean_env(tmp_path)))
