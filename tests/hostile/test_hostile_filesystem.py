"""File system: nothing is written outside the run folder, nothing outside it is replaced,
file names never collide, a write error is one line and loses nothing finished."""

from __future__ import annotations

import errno
import json
import os
import resource
import sys
from pathlib import Path

import pytest
from hostile_helpers import World, finish, leftovers, results, spawn
from warprec.errors import ConfigError, OutputError
from warprec.experiment import outputs
from warprec.output import LOCK_NAME, RunFolder, safe_name

ESCAPES = ["/../../../../data/victim.txt", "/../victim.txt", "../victim", ".tsv/../../x",
           "victim.txt/..", ".", ".ts v", ".tsv\n", "", "tsv", ".tsv.gz/.."]


@pytest.mark.parametrize("ext", ESCAPES)
@pytest.mark.parametrize("key", ["recommendation", "split"])
def test_writer_extensions_that_could_escape_are_refused(cli, world: World, key: str,
                                                         ext: str) -> None:
    config = world.config({"Pop": {"meta": {"save_recs": True}}},
                          writer={key: {"ext": ext}, "save_split": True})
    before = world.fingerprint()
    result = cli("run", config, "-o", world.root / "run", "-q")
    assert result.code == 2
    assert f"writer.{key}.ext: got" in result.error_line()
    assert "expected '.' and letters or digits" in result.err
    assert not (world.root / "run").exists()
    assert world.fingerprint() == before


@pytest.mark.parametrize("ext", ["/../../victim.txt", "/x", ".tsv/../.."])
def test_reader_split_extension_cannot_climb(cli, world: World, ext: str) -> None:
    config = world.config(reader={"loading_strategy": "split", "dataset": None,
                                  "dataset_params": None,
                                  "split": {"local_path": "data", "ext": ext}})
    result = cli("config", "check", config)
    assert result.code == 2 and "reader.split.ext: got" in result.error_line()


@pytest.mark.parametrize("name", ["..", ".", "a/b", "../../data", "x\ny", "a\\b"])
def test_dataset_names_that_are_not_one_folder_are_refused(cli, world: World,
                                                            name: str) -> None:
    config = world.config(writer={"dataset_name": name,
                                  "local_experiment_path": str(world.root / "runs")})
    before = world.fingerprint()
    result = cli("run", config, "-q")
    assert result.code == 2 and "writer.dataset_name: got" in result.error_line()
    assert world.fingerprint() == before


@pytest.mark.parametrize("sep", ["::", "", "\n"])
def test_writer_separators_must_be_one_character(cli, world: World, sep: str) -> None:
    config = world.config(writer={"split": {"sep": sep}})
    result = cli("config", "check", config)
    assert result.code == 2 and "writer.split.sep: got" in result.error_line()


@pytest.mark.parametrize("relative", ["/etc/passwd", "../victim.txt", "a/../../victim.txt",
                                      "a/../b", "", "x\0y", "."])
def test_run_folder_refuses_paths_outside_it(tmp_path: Path, relative: str) -> None:
    with RunFolder.create(tmp_path, "d", tmp_path / "run") as folder, \
            pytest.raises(ConfigError, match="run folder"):
        folder.write_text(relative, "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_run_folder_refuses_a_link_leading_outside(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    with RunFolder.create(tmp_path, "d", tmp_path / "run") as folder:
        (folder.path / "recommendations").symlink_to(tmp_path / "outside")
        with pytest.raises(ConfigError, match="outside the run folder"):
            folder.write_text("recommendations/EASE.tsv", "x")
    assert list((tmp_path / "outside").iterdir()) == []


def test_run_folder_never_replaces_a_file_it_did_not_write(tmp_path: Path) -> None:
    with RunFolder.create(tmp_path, "d", tmp_path / "run") as folder:
        (folder.path / "planted.txt").write_text("theirs")
        with pytest.raises(ConfigError, match="was not written by this run"):
            folder.write_text("planted.txt", "ours")
        folder.write_text("results.json", "1")
        folder.write_text("results.json", "2")  # its own file: rewritten
    assert (folder.path / "planted.txt").read_text() == "theirs"
    assert (folder.path / "results.json").read_text() == "2"


@pytest.mark.parametrize(("names", "stems"), [
    (["a/b", "a_b", "a:b"], ["a_b", "a_b_2", "a_b_3"]),
    (["EASE", "ease"], ["EASE", "ease_2"]),
    (["..", ".hidden", "x\ty"], ["_.", "_hidden", "x_y"]),
    (["p1:EASE", "p2:EASE"], ["p1_EASE", "p2_EASE"]),
])
def test_model_file_stems_are_distinct_and_plain(tmp_path: Path, names: list[str],
                                                 stems: list[str]) -> None:
    with RunFolder.create(tmp_path, "d", tmp_path / "run") as folder:
        folder.name_models(names)
        assert [folder.stem(n) for n in names] == stems
        for name in names:
            folder.write_text(f"checkpoints/{folder.stem(name)}.pt", name)
        written = {p.read_text() for p in (folder.path / "checkpoints").iterdir()}
    assert written == set(names)


def test_safe_name_is_bounded() -> None:
    assert len(safe_name("x" * 1000)) == 100 and safe_name("") == "_"


def test_results_tsv_escapes_tabs_and_newlines(tmp_path: Path) -> None:
    models = [{"model": "a\tb\nc", "status": "ok", "test": {"nDCG@5": 0.5}},
              {"model": "d\\e", "status": "failed", "test": None}]
    with RunFolder.create(tmp_path, "d", tmp_path / "run") as folder:
        outputs.write_results(folder, {"status": "complete", "models": models})
    lines = (folder.path / "results.tsv").read_text().splitlines()
    assert lines == ["model\tnDCG@5", "a\\tb\\nc\t0.5", "d\\\\e\tfailed"]


def test_output_that_is_a_file_is_refused(cli, world: World) -> None:
    (world.root / "taken").write_text("mine")
    result = cli("run", world.config(), "-o", world.root / "taken", "-q")
    assert result.code == 2 and "--output" in result.error_line()
    assert (world.root / "taken").read_text() == "mine"


def test_output_under_a_file_is_refused(cli, world: World) -> None:
    (world.root / "taken").write_text("mine")
    result = cli("run", world.config(), "-o", world.root / "taken" / "run", "-q")
    assert result.code == 2 and "is a file; expected a folder" in result.error_line()


def test_non_empty_output_is_refused_and_untouched(cli, world: World) -> None:
    run = world.root / "run"
    run.mkdir()
    (run / "results.json").write_text("{}")
    config = world.config()
    before = world.fingerprint()
    result = cli("run", config, "-o", run, "-q")
    assert result.code == 2 and "not an empty folder" in result.error_line()
    assert world.fingerprint() == before


def test_output_claimed_by_another_run_is_refused(cli, world: World) -> None:
    run = world.root / "run"
    with RunFolder.create(world.root, "d", run):
        result = cli("run", world.config(), "-o", run, "-q")
    assert result.code == 2 and "another warprec run is writing there" in result.error_line()
    assert list(run.iterdir()) == []


def test_an_abandoned_claim_names_the_lock(cli, world: World) -> None:
    run = world.root / "run"
    run.mkdir()
    (run / LOCK_NAME).write_text("12345\n")  # a run killed with SIGKILL
    result = cli("run", world.config(), "-o", run, "-q")
    assert result.code == 2 and LOCK_NAME in result.error_line()


def test_unwritable_output_parent_is_one_line(cli, world: World,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Root ignores permissions: the planner's access check is what a user would hit.
    monkeypatch.setattr("warprec.experiment.plan.os.access", lambda *a, **k: False)
    result = cli("run", world.config(), "-o", world.root / "run", "-q")
    assert result.code == 2 and "is not writable" in result.error_line()


def test_a_finished_run_leaves_no_temporary_file_or_claim(cli, world: World) -> None:
    run = world.root / "run"
    config = world.config({"Pop": {"meta": {"save_recs": True, "save_model": True}},
                           "EASE": {"meta": {"save_model": True}}},
                          writer={"save_split": True})
    before = world.fingerprint()
    result = cli("run", config, "-o", run, "-q")
    assert result.code == 0, result.err
    assert leftovers(run) == []
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["EASE.pt", "Pop.pt"]
    assert world.fingerprint(skip=run) == before


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_disk_full_on_results_keeps_the_last_complete_results(
        cli, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    run = world.root / "run"
    writes = {"n": 0}
    real = os.fsync

    def fsync(fd: int) -> None:
        if Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(".results.json."):
            writes["n"] += 1
            if writes["n"] >= 3:  # the start, after Pop, then the disk is full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    result = cli("run", world.config({"Pop": {}, "EASE": {}}), "-o", run, "-q")
    line = result.error_line()
    assert result.code == 2 and "cannot write" in line and "results.json" in line
    assert "No space left on device" in line
    data = results(run)  # the last complete version: Pop finished
    assert [m["model"] for m in data["models"]] == ["Pop"] and data["status"] == "running"
    assert leftovers(run) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EACCES])
def test_write_error_of_a_checkpoint_is_one_line_and_recorded(
        cli, world: World, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    run = world.root / "run"

    def save(contents, path):
        Path(path).write_bytes(b"half")  # what a failing write leaves in the temporary
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr("warprec.recommenders.base_recommender.write_checkpoint", save)
    result = cli("run", world.config({"Pop": {}, "EASE": {"meta": {"save_model": True}}}),
                 "-o", run, "-q")
    line = result.error_line()
    assert result.code == 2 and "cannot write" in line and "checkpoints/EASE.pt" in line
    data = results(run)
    assert data["status"] == "failed" and "checkpoints/EASE.pt" in data["error"]
    assert data["models"][0]["status"] == "ok"
    assert data["models"][1] == {**data["models"][1], "model": "EASE", "status": "failed"}
    assert not (run / "checkpoints" / "EASE.pt").exists() and leftovers(run) == []


def test_run_log_write_failure_prints_no_logging_traceback(
        cli, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self):  # what a full disk does to every later record
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("logging.FileHandler.flush", broken)
    result = cli("run", world.config(), "-o", world.root / "run", "-q")
    assert "Logging error" not in result.err and "Traceback" not in result.err
    assert result.code == 0 and results(world.root / "run")["status"] == "complete"


def test_output_error_is_a_user_error() -> None:
    from warprec.errors import WarpRecError

    assert issubclass(OutputError, WarpRecError)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE semantics")
def test_file_size_limit_in_a_real_process(world: World) -> None:
    """A real write failure (EFBIG from RLIMIT_FSIZE, as a full disk gives ENOSPC): one
    line naming the checkpoint, exit 2, the finished model kept, nothing half-written."""
    run = world.root / "run"
    config = world.config({"Pop": {}, "EASE": {"meta": {"save_model": True}}})
    limit = 4096  # the config and results fit, the EASE checkpoint (~6 KB) does not

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    before = world.fingerprint()
    result = finish(spawn(["run", config, "-o", run, "-q"], world.root, preexec_fn=limited))
    line = result.error_line()
    assert result.code == 2 and "cannot write" in line and "EASE.pt" in line, result.err
    # The OS's reason, not the words of torch's zip writer.
    assert line.endswith("EASE.pt: File too large") and "enforce" not in line, line
    data = json.loads((run / "results.json").read_text())
    assert data["status"] == "failed" and data["models"][0]["status"] == "ok"
    assert not (run / "checkpoints" / "EASE.pt").exists() and leftovers(run) == []
    assert world.fingerprint(skip=run) == before
