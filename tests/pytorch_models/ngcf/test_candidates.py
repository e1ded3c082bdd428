import shutil
from pathlib import Path

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
    # replaced, as every writer here replaces it: rewriting a mapped file in
    # place would pull the pages from under the processes that map it
    broken = tmp_path / "broken"
    broken.write_bytes(b"broken")
    broken.replace(cache)
    rebuilt = candidate_index_beside(path, vectors, None, prior_weight=0, nprobe=4)
    assert np.array_equal(rebuilt.search(query, 20), first.search(query, 20))


def test_a_cached_index_is_mapped_read_only(tmp_path, parity_checkpoint):
    path = shutil.copy(parity_checkpoint, tmp_path / "ngcf.pt")
    vectors = np.random.default_rng(2).normal(size=(300, 8)).astype(np.float32)
    index = candidate_index_beside(path, vectors, None, prior_weight=0, nprobe=4)
    [cache] = tmp_path.glob("ngcf.pt.prior0.ivf.faiss")
    maps = [
        line.split()
        for line in Path("/proc/self/maps").read_text().splitlines()
        if line.endswith(str(cache))
    ]
    assert maps and all("w" not in fields[1] for fields in maps)
    # searches as the same index held in memory
    in_memory = CandidateIndex.build(vectors, None, nprobe=4)
    assert np.array_equal(
        index.search(vectors[0], 50), in_memory.search(vectors[0], 50)
    )
