import os
import shutil

from movie.recommendations.predictor import get_predictor


def test_no_checkpoint_says_so(db, settings, tmp_path):
    settings.NGCF_CHECKPOINT = tmp_path / "missing.pt"
    state = get_predictor()
    assert state.predictor is None and "no NGCF checkpoint" in state.problem


def test_loaded_once_and_reloaded_when_the_file_is_replaced(
    db, settings, tmp_path, parity_checkpoint
):
    path = shutil.copy(parity_checkpoint, tmp_path / "ngcf.pt")
    settings.NGCF_CHECKPOINT = path
    first = get_predictor()
    assert first.predictor is not None
    assert get_predictor() is first  # shared, not reloaded
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    again = get_predictor()
    assert again is not first and again.predictor is not None


def test_an_unreadable_checkpoint_is_a_problem_not_an_error(db, settings, tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"not a checkpoint")
    settings.NGCF_CHECKPOINT = path
    state = get_predictor()
    assert state.predictor is None and "cannot be loaded" in state.problem


def test_a_broken_replacement_keeps_the_model_served(
    db, settings, tmp_path, parity_checkpoint, caplog
):
    path = shutil.copy(parity_checkpoint, tmp_path / "ngcf.pt")
    settings.NGCF_CHECKPOINT = path
    first = get_predictor()
    (tmp_path / "ngcf.pt").write_bytes(b"truncated")
    assert get_predictor() is first
    assert "cannot load NGCF model" in caplog.text
