"""Checkpoints are data, never code: ``meta.load_from`` checks the file's digest and reads
it with ``weights_only=True``, the model class comes from the config's model name through
the registry, and a foreign, old, damaged or broken file is one line (exit 2)."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from pathlib import Path

import pytest
import scipy.sparse as sp
import torch
from hostile_helpers import World, results
from warprec.errors import DataError, WarpRecError
from warprec.recommenders.base_recommender import CHECKPOINT_FORMAT, Recommender
from warprec.recommenders.checkpoint import decode, encode, read_checkpoint, write_checkpoint


class Payload:
    """Pickling this runs ``touch <marker>`` when unpickled by an unsafe load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def framed(contents: object) -> bytes:
    """``contents`` pickled by torch, behind the header line of docs/architecture.md: the
    file ``Recommender.save`` would write for them, digest included."""
    buffer = io.BytesIO()
    torch.save(contents, buffer)
    payload = buffer.getvalue()
    header = f"WARPREC-CHECKPOINT {CHECKPOINT_FORMAT} sha256="
    return (header + hashlib.sha256(payload).hexdigest() + "\n").encode() + payload


def load_config(world: World, checkpoint: str, model: str = "EASE") -> Path:
    return world.config({model: {"meta": {"load_from": checkpoint}}})


def refused(cli, world: World, config: Path, *fragments: str) -> str:
    result = cli("run", config, "-o", world.root / "run", "-q")
    line = result.error_line()
    assert result.code == 2, result.err
    for fragment in fragments:
        assert fragment in line, line
    return line


@pytest.fixture
def saved(cli, world: World) -> Path:
    """A real EASE checkpoint written by a run."""
    config = world.config({"EASE": {"meta": {"save_model": True}}}, name="save.yaml")
    assert cli("run", config, "-o", world.root / "first", "-q").code == 0
    return world.root / "first" / "checkpoints" / "EASE.pt"


@pytest.mark.parametrize("with_digest", [True, False])
def test_a_pickle_payload_is_never_run(cli, world: World, with_digest: bool) -> None:
    marker = world.root / "PWNED"
    contents = {"format_version": CHECKPOINT_FORMAT, "x": Payload(marker)}
    if with_digest:  # a valid digest does not make the payload code
        (world.root / "evil.pt").write_bytes(framed(contents))
    else:
        torch.save(contents, world.root / "evil.pt")
    line = refused(cli, world, load_config(world, "evil.pt"), "models.EASE.meta.load_from",
                   "evil.pt", "names the Python object", "system", "is never loaded")
    assert not marker.exists() and len(line) < 400


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_plain_pickle_payload_is_never_run(cli, world: World) -> None:
    marker = world.root / "PWNED"
    (world.root / "evil.pt").write_bytes(pickle.dumps(Payload(marker)))
    refused(cli, world, load_config(world, "evil.pt"), "evil.pt")
    assert not marker.exists()


def test_garbage_is_not_a_checkpoint(cli, world: World) -> None:
    (world.root / "junk.pt").write_bytes(b"\x00not a checkpoint" * 10)
    refused(cli, world, load_config(world, "junk.pt"), "junk.pt: not a checkpoint file")


@pytest.mark.parametrize(("cut", "why"), [("half", "truncated or changed"),
                                          ("in the header", "header line")])
def test_a_truncated_checkpoint(cli, world: World, saved: Path, cut: str, why: str) -> None:
    data = saved.read_bytes()
    (world.root / "cut.pt").write_bytes(data[: len(data) // 2 if cut == "half" else 30])
    refused(cli, world, load_config(world, "cut.pt"), "cut.pt: damaged checkpoint", why)


def test_a_checkpoint_with_flipped_bytes(cli, world: World, saved: Path) -> None:
    # The file without a digest loaded and scored (nDCG 0.3873 instead of 0.3900).
    data = bytearray(saved.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
    (world.root / "flipped.pt").write_bytes(bytes(data))
    line = refused(cli, world, load_config(world, "flipped.pt"), "models.EASE.meta.load_from",
                   "flipped.pt: damaged checkpoint", "SHA-256")
    assert len(line) < 400


def test_a_checkpoint_of_a_newer_format(cli, world: World, saved: Path) -> None:
    data = saved.read_bytes().replace(b"CHECKPOINT 3 ", b"CHECKPOINT 4 ", 1)
    (world.root / "new.pt").write_bytes(data)
    refused(cli, world, load_config(world, "new.pt"), "new.pt: checkpoint format 4, "
            "written by a newer warprec-core")


def test_an_old_format_checkpoint(cli, world: World) -> None:
    torch.save({"format_version": 1, "name": "EASE"}, world.root / "old.pt")
    refused(cli, world, load_config(world, "old.pt"), "unsupported checkpoint format 1",
            "re-create the checkpoint")


def test_an_old_format_checkpoint_with_scipy_objects(cli, world: World) -> None:
    torch.save({"format_version": 1, "name": "EASE",
                "state_dict": {"_extra_state": {"m": sp.csr_matrix((2, 2))}}},
               world.root / "old.pt")
    refused(cli, world, load_config(world, "old.pt"), "old.pt: not a WarpRec checkpoint",
            "scipy")


def test_a_checkpoint_of_another_model(cli, world: World, saved: Path) -> None:
    refused(cli, world, load_config(world, str(saved), model="Pop"),
            "the checkpoint holds the model EASE; expected one of Pop")


def test_a_missing_checkpoint(cli, world: World) -> None:
    refused(cli, world, load_config(world, "absent.pt"), "models.EASE.meta.load_from",
            "'absent.pt' not found")


def test_a_folder_as_checkpoint(cli, world: World) -> None:
    (world.root / "ckpt").mkdir()
    refused(cli, world, load_config(world, "ckpt"), "ckpt: cannot be read")


@pytest.mark.parametrize("key", ["name", "params", "info", "seed", "state_dict", "fitted"])
def test_a_checkpoint_missing_a_key(cli, world: World, key: str) -> None:
    contents = {"format_version": CHECKPOINT_FORMAT, "name": "EASE", "params": {}, "info": {},
                "seed": 1, "state_dict": {}, "fitted": {}}
    del contents[key]
    write_checkpoint(contents, world.root / "partial.pt")
    refused(cli, world, load_config(world, "partial.pt"), f"the checkpoint's {key!r} is "
            "missing")


def test_a_state_that_does_not_fit(cli, world: World, saved: Path) -> None:
    contents = read_checkpoint(saved)
    contents["info"] = {**contents["info"], "n_items": 3}
    write_checkpoint(contents, world.root / "resized.pt")
    refused(cli, world, load_config(world, "resized.pt"), "models.EASE.meta.load_from: the "
            "checkpoint has 30 users x 3 items, the data 30 x 20")


def test_a_saved_model_loads_back_with_the_same_results(cli, world: World,
                                                        saved: Path) -> None:
    first = results(world.root / "first")["models"][0]["test"]
    assert cli("run", load_config(world, str(saved)), "-o", world.root / "run",
               "-q").code == 0
    assert results(world.root / "run")["models"][0]["test"] == first


def test_the_class_is_never_imported_from_a_name_in_the_file(tmp_path: Path,
                                                             fresh_plugins: None) -> None:
    write_checkpoint({"format_version": CHECKPOINT_FORMAT, "name": "os:system", "params": {},
                      "info": {}, "seed": 1, "state_dict": {}, "fitted": {}},
                     tmp_path / "m.pt")
    with pytest.raises(DataError, match="the checkpoint's model 'os:system' is not available"):
        Recommender.load(tmp_path / "m.pt")


def test_state_that_is_not_data_is_refused_when_saving() -> None:
    with pytest.raises(WarpRecError, match=r"cannot save EASE\.state\.hook: a builtins"):
        encode({"state": {"hook": print}}, "EASE")


def test_numpy_and_scipy_state_round_trips() -> None:
    import numpy as np

    state = {"a": np.arange(6, dtype=">f4").reshape(2, 3), "s": sp.random(5, 4, 0.5).tocsc(),
             "ids": np.array(["x", "y"]), "n": np.int64(3), "t": (1, [2.0, None])}
    back = decode(encode(state, "m"))
    assert np.array_equal(back["a"], state["a"]) and back["s"].format == "csc"
    assert (back["s"] != state["s"]).nnz == 0 and back["ids"].tolist() == ["x", "y"]
    assert back["n"] == 3 and back["t"] == (1, [2.0, None])


def test_item_similarity_models_pass_the_kit_save_load_check() -> None:
    from warprec.testing import check_model
    from warprec.utils.registry import model_registry

    for name in ("EASE", "ItemKNN"):
        report = check_model(model_registry.get_class(name), checks=["save_load"])
        assert report.ok
