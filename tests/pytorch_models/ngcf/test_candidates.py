import shutil

import numpy as np

from pytorch_models.ngcf.candidates import CandidateIndex, candidate_index_beside


def test_candidate_index_finds_the_best_inner_products():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 16))
    vectors = centres[rng.integers(0, 20, 4000)] + 0.3 * rng.normal(size=(4000, 16))
    vectors = vectors.astype(np.float32)
    bias = rng.uniform(0, 2, 4000).astype(np.float32)
    index = CandidateIndex.build(vectors, bias, nprobe=16)
    overlap = []
    for q in rng.normal(size=(50, 16)).astype(np.float32):
        best = set(np.argsort(-(vectors @ q + bias))[:10].tolist())
        found = index.search(q, 100)
        assert len(found) == 100 == len(set(found.tolist()))
        overlap.append(len(best & set(found.tolist())) / 10)
    assert np.mean(overlap) > 0.95


def test_the_index_is_cached_beside_the_checkpoint(tmp_path, parity_checkpoint):
    path = shutil.copy(parity_checkpoint, tmp_path / "ngcf.pt")
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(200, 8)).astype(np.float32)
    first = candidate_index_beside(path, vectors, None, prior_weight=0, nprobe=4)
    [cache] = tmp_path.glob("ngcf.pt.prior0.ivf.faiss")
    stamp = cache.stat().st_mtime_ns
    again = candidate_index_beside(path, vectors, None, prior_weight=0, nprobe=4)
    assert cache.stat().st_mtime_ns == stamp  # read, not rebuilt
    query = rng.normal(size=8).astype(np.float32)
    assert np.array_equal(first.search(query, 20), again.search(query, 20))
    cache.write_bytes(b"broken")
    rebuilt = candidate_index_beside(path, vectors, None, prior_weight=0, nprobe=4)
    assert np.array_equal(rebuilt.search(query, 20), first.search(query, 20))
