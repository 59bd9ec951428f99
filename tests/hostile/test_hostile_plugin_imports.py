"""A plugin that hangs, loops, exits, kills itself or allocates without bound at import
never hangs or kills a command that does not need it: each command below, run as a real
process with the plugin installed, finishes (the subprocess timeout is the bound) and
reports the plugin broken; ``plugins doctor`` names it and exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_dists import write_dist
from hostile_helpers import World, finish, spawn

BEHAVIOURS = {
    "sleeps": "import time\ntime.sleep(10**6)\n",
    "loops": "while True:\n    pass\n",
    "exits": "import os\nos._exit(7)\n",
    "kills itself": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "allocates": "blocks = []\nwhile True:\n    blocks.append(bytearray(2**26))\n",
}
# The probe's limits for these tests: a short time limit for the plugins that never end
# by themselves (a long one for the others, so that a loaded machine cannot turn their
# own failure into a time-out), and little memory.
LIMITS = {"WARPREC_PLUGIN_TIMEOUT": "3", "WARPREC_PLUGIN_MEMORY_MB": "768"}
ENDLESS = ("sleeps", "loops")
BOUND = 60  # seconds: far above what each command takes, far below a hang


@pytest.fixture(scope="module", autouse=True)
def official_manifests_cached() -> None:
    """The official plugins read once with the default limits (a first read of classic
    takes more than these tests' 3 s on a loaded machine)."""
    from warprec import plugins
    from warprec._manifests import load_manifests

    load_manifests(plugins.host.targets())


@pytest.fixture
def hostile_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    return site


def warprec(args: list[str | Path], cwd: Path, site: Path, behaviour: str
            ) -> tuple[int, str, str]:
    limits = {**LIMITS, "WARPREC_PLUGIN_TIMEOUT": "3" if behaviour in ENDLESS else "30"}
    outcome = finish(spawn(args, cwd, env={**limits, "PYTHONPATH": str(site)}),
                     timeout=BOUND)
    return outcome.code, outcome.out, outcome.err


@pytest.mark.parametrize("behaviour", list(BEHAVIOURS))
@pytest.mark.parametrize("args", [["--help"], ["--version"], ["plugins", "list"],
                                  ["models", "list"]])
def test_listing_survives_a_hostile_plugin(hostile_site: Path, tmp_path: Path,
                                           behaviour: str, args: list[str]) -> None:
    write_dist(hostile_site, "acme-hostile", BEHAVIOURS[behaviour])
    code, out, err = warprec(args, tmp_path, hostile_site, behaviour)
    assert code == 0, err
    assert "Traceback" not in err
    if args[0] in ("--version", "plugins"):
        assert "acme-hostile" in out and "error" in out
    if args == ["models", "list"]:
        assert "Pop" in out


@pytest.mark.parametrize("behaviour", list(BEHAVIOURS))
def test_json_listing_reports_the_plugin_broken(hostile_site: Path, tmp_path: Path,
                                               behaviour: str) -> None:
    write_dist(hostile_site, "acme-hostile", BEHAVIOURS[behaviour])
    code, out, err = warprec(["plugins", "list", "--json"], tmp_path, hostile_site, behaviour)
    assert code == 0, err
    info = next(i for i in json.loads(out) if i["name"] == "acme-hostile")
    assert info["status"] == "error"
    expected = {"sleeps": "did not finish within 3 s", "loops": "did not finish within 3 s",
                "exits": "exited with status 7", "kills itself": "was killed by SIGKILL",
                "allocates": "MemoryError"}[behaviour]
    assert expected in info["error"], info["error"]


@pytest.mark.parametrize("behaviour", list(BEHAVIOURS))
def test_a_run_that_does_not_use_it_succeeds(hostile_site: Path, world: World,
                                             behaviour: str) -> None:
    write_dist(hostile_site, "acme-hostile", BEHAVIOURS[behaviour])
    code, out, err = warprec(["run", world.config(), "-o", world.root / "run", "-q"],
                             world.root, hostile_site, behaviour)
    assert code == 0, err
    assert "Pop" in out and "Warning: plugin acme-hostile" in err
    assert (world.root / "run" / "results.json").is_file()


@pytest.mark.parametrize("behaviour", list(BEHAVIOURS))
def test_doctor_names_it_and_exits_2(hostile_site: Path, tmp_path: Path,
                                     behaviour: str) -> None:
    write_dist(hostile_site, "acme-hostile", BEHAVIOURS[behaviour])
    code, out, err = warprec(["plugins", "doctor", "acme-hostile"], tmp_path, hostile_site,
                             behaviour)
    assert code == 2, out + err
    assert "acme-hostile 1.0.0: 1 problem(s)" in out and "error:" in out
    assert err.strip() == "Error: plugins doctor found 1 problem(s) in 1 plugin(s) " \
                          "(listed above)"


def test_a_run_that_uses_a_plugin_failing_in_process_is_one_line(hostile_site: Path,
                                                                 world: World) -> None:
    # The probe saw it work; imported again in the run, it fails: one line, exit 2.
    write_dist(hostile_site, "acme-flaky", """
        import os
        from warprec import hookimpl
        if os.environ.get("ACME_FLAKY"):
            raise RuntimeError("only in the run")

        @hookimpl
        def warprec_register_models(register):
            register("Flaky", "acme_flaky_models:Flaky")
        """)
    code, _, _ = warprec(["plugins", "list"], world.root, hostile_site, "flaky")
    assert code == 0
    outcome = finish(spawn(["run", world.config({"Flaky": {}}), "-o", world.root / "run"],
                           world.root, env={**LIMITS, "PYTHONPATH": str(hostile_site),
                                            "ACME_FLAKY": "1"}), timeout=BOUND)
    line = outcome.error_line()
    assert outcome.code == 2
    assert "plugin acme-flaky 1.0.0: cannot load entry point" in line
    assert "only in the run" in line
