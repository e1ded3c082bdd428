import multiprocessing
import shutil
from pathlib import Path

import numpy as np
import pytest

from pytorch_models.checkpoint import load_checkpoint
from pytorch_models.ngcf import NGCFConfig
from pytorch_models.ngcf.predictor import NgcfPredictor
from pytorch_models.ngcf.shared_arrays import shared_array_beside, shared_array_path
from pytorch_models.records import TrainConfig
from pytorch_models.training import train_ngcf
from tests.worlds import parity_split


def _mapping_of(path: Path) -> tuple[str, int]:
    """(permissions, inode) of this process's mapping of ``path``."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[5] == str(path):
            return fields[1], int(fields[4])
    raise AssertionError(f"{path} is not mapped")


def _other_checkpoint(folder: Path) -> Path:
    """A second small parity model (another seed): other item matrices."""
    config = TrainConfig(
        model=NGCFConfig(embedding_dim=16, layer_sizes=(16, 16)),
        batch_size=32,
        max_epochs=3,
        seed=5,
    )
    result = train_ngcf(*parity_split(24, 20, n_train=6, first_id=1), config)
    return result.checkpoint.save(folder / "other.pt")


def test_loaded_item_matrices_are_read_only_maps(tmp_path, parity_checkpoint):
    path = shutil.copy(parity_checkpoint, tmp_path / "ngcf.pt")
    predictor = NgcfPredictor.load(path)
    in_memory = NgcfPredictor(load_checkpoint(path), predictor.config)
    for name, array in (
        ("item_final", predictor.model.item_final),
        ("item_neighbours", predictor.neighbours),
    ):
        file = shared_array_path(path, name)
        permissions, _ = _mapping_of(file)
        assert permissions.startswith("r-") and "w" not in permissions
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 1.0
    # the same recommendations as arrays held in the process's own memory
    history = [2, 4, 6]
    assert predictor.recommend(history, k=5) == in_memory.recommend(history, k=5)
    np.testing.assert_array_equal(
        predictor.model.item_final, in_memory.model.item_final
    )


def test_a_process_started_after_the_checkpoint_is_replaced_maps_the_new_one(
    tmp_path, parity_checkpoint
):
    path = Path(shutil.copy(parity_checkpoint, tmp_path / "ngcf.pt"))
    old = NgcfPredictor.load(path)
    old_final = np.array(old.model.item_final)
    other = _other_checkpoint(tmp_path / "staging")
    shutil.copy(other, tmp_path / "incoming.pt")
    (tmp_path / "incoming.pt").replace(path)  # the artifact is replaced
    expected = NgcfPredictor(load_checkpoint(path), old.config).model.item_final
    assert not np.array_equal(expected, old_final)
    new = NgcfPredictor.load(path)  # what a worker started now does
    np.testing.assert_array_equal(new.model.item_final, expected)
    # the old worker's mapping still reads the old file, intact
    np.testing.assert_array_equal(old.model.item_final, old_final)
    assert old.recommend([2, 4], k=3)


def _map_in_child(checkpoint: str, array: np.ndarray, queue) -> None:
    mapped = shared_array_beside(checkpoint, "item_final", array)
    queue.put(
        (_mapping_of(shared_array_path(checkpoint, "item_final"))[1], mapped[3, 2])
    )


def test_processes_starting_together_map_one_file(tmp_path):
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"")
    array = np.arange(40_000, dtype=np.float32).reshape(1000, 40)
    context = multiprocessing.get_context("fork")  # nothing mapped yet
    queue = context.Queue()
    children = [
        context.Process(target=_map_in_child, args=(str(checkpoint), array, queue))
        for _ in range(3)
    ]
    for child in children:
        child.start()
    results = [queue.get(timeout=60) for _ in children]
    for child in children:
        child.join()
    assert {inode for inode, _ in results} == {
        shared_array_path(checkpoint, "item_final").stat().st_ino
    }
    assert all(value == array[3, 2] for _, value in results)


def test_a_file_holding_other_values_is_rewritten(tmp_path):
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"")
    first = np.ones((4, 3), dtype=np.float32)
    assert np.array_equal(shared_array_beside(checkpoint, "m", first), first)
    second = first * 2
    mapped = shared_array_beside(checkpoint, "m", second)
    assert np.array_equal(mapped, second)
    np.save(tmp_path / "junk.npy", np.zeros(3))
    (tmp_path / "junk.npy").replace(shared_array_path(checkpoint, "m"))
    assert np.array_equal(shared_array_beside(checkpoint, "m", second), second)
