import logging

import numpy as np
import pytest

from pytorch_models.data import (
    DataError,
    Interactions,
    align_to_train,
    read_interactions,
    split_per_user,
)


def write(tmp_path, text, name="x.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_recbole_header_and_extra_columns(tmp_path):
    path = write(
        tmp_path,
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "1\t10\t4\t100\n2\t10\t3\t200\n2\t11\t5\t300\n",
    )
    data, report = read_interactions(path)
    assert data.users.tolist() == [1, 2, 2]
    assert data.items.tolist() == [10, 10, 11]
    assert data.timestamps.tolist() == [100.0, 200.0, 300.0]
    assert (report.rows, report.kept, report.users, report.items) == (3, 3, 2, 2)


def test_reads_plain_header_without_timestamp(tmp_path):
    data, _ = read_interactions(write(tmp_path, "item_id\tuser_id\n5\t7\n\n6\t7\n"))
    assert data.users.tolist() == [7, 7]
    assert data.items.tolist() == [5, 6]
    assert data.timestamps is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("user_id\titem_id\n", "no interactions"),
        ("user_id\tmovie\n1\t2\n", "missing column(s) item_id"),
        ("user\titem\n1\t2\n", "missing column(s) user_id, item_id"),
        ("user_id\titem_id\n1\t2\n3\tabc\n", "line 3: item_id 'abc' is not an integer"),
        ("user_id\titem_id\n1.5\t2\n", "line 2: user_id '1.5' is not an integer"),
        ("user_id\titem_id\n1\t2\n3\n", "line 3: expected at least 2"),
        ("user_id\titem_id\ttimestamp\n1\t2\tyesterday\n", "timestamp"),
    ],
)
def test_bad_files_raise_data_error_with_clear_message(tmp_path, text, message):
    with pytest.raises(DataError, match=None) as info:
        read_interactions(write(tmp_path, text))
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_interactions(tmp_path / "nope.tsv")


def test_duplicates_are_dropped_and_reported(tmp_path, caplog):
    path = write(tmp_path, "user_id\titem_id\n1\t2\n1\t3\n1\t2\n4\t2\n1\t3\n")
    with caplog.at_level(logging.WARNING, logger="pytorch_models.data"):
        data, report = read_interactions(path)
    assert report.duplicates_dropped == 2
    assert list(zip(data.users.tolist(), data.items.tolist(), strict=True)) == [
        (1, 2),
        (1, 3),
        (4, 2),
    ]
    assert "2 duplicate" in caplog.text
    assert any("2 duplicate" in m for m in report.messages())


def many(per_user: dict[int, int]) -> Interactions:
    users, items = [], []
    for user, n in per_user.items():
        users += [user] * n
        items += list(range(n))
    return Interactions.from_pairs(users, items)


def test_split_counts_follow_recbole_rules():
    # n -> (train, valid, test) as RecBole's split_by_ratio with [0.8, 0.1, 0.1]
    expected = {
        1: (1, 0, 0),
        2: (1, 0, 1),
        3: (1, 1, 1),
        5: (3, 1, 1),
        10: (8, 1, 1),
        15: (13, 1, 1),
        20: (16, 2, 2),
        29: (25, 2, 2),
    }
    split, report = split_per_user(many({n: n for n in expected}), seed=3)
    for user, counts in expected.items():
        got = tuple(
            int((part.users == user).sum())
            for part in (split.train, split.valid, split.test)
        )
        assert got == counts, user
    assert report.single_interaction_users == 1
    assert report.users_without_valid == 2  # n = 1 and n = 2
    assert report.users_without_test == 1


def test_split_is_a_seeded_partition():
    data = many({u: 10 + u for u in range(30)})
    a, _ = split_per_user(data, seed=0)
    b, _ = split_per_user(data, seed=0)
    c, _ = split_per_user(data, seed=1)
    for x, y in zip(
        (a.train, a.valid, a.test), (b.train, b.valid, b.test), strict=True
    ):
        assert np.array_equal(x.users, y.users) and np.array_equal(x.items, y.items)
    assert not np.array_equal(a.test.items, c.test.items)
    pairs = lambda p: set(zip(p.users.tolist(), p.items.tolist(), strict=True))  # noqa: E731
    union = pairs(a.train) | pairs(a.valid) | pairs(a.test)
    assert union == pairs(data)
    assert len(a.train) + len(a.valid) + len(a.test) == len(data)


def test_split_reports_single_interaction_user(caplog):
    with caplog.at_level(logging.INFO, logger="pytorch_models.data"):
        _, report = split_per_user(many({1: 1, 2: 10}), seed=0)
    assert report.single_interaction_users == 1
    assert "single interaction" in caplog.text


def test_split_rejects_empty_input_and_bad_ratios():
    with pytest.raises(DataError):
        split_per_user(Interactions.from_pairs([], []), seed=0)
    with pytest.raises(DataError):
        split_per_user(many({1: 5}), seed=0, ratios=(0.5, 0.1, 0.1))


def test_align_drops_unseen_and_known_pairs():
    train = Interactions.from_pairs([1, 1, 2], [10, 11, 10])
    valid = Interactions.from_pairs([1, 3, 2, 2], [12, 10, 10, 11])
    test = Interactions.from_pairs([1, 2, 2, 1, 1], [99, 11, 11, 10, 12])
    # valid: (1,12) item unseen; (3,10) user unseen; (2,10) known in train
    # test: (1,99) unseen; (2,11) repeats valid; twice; (1,10) in train; (1,12) unseen
    v, t, report = align_to_train(train, valid, test)
    assert list(zip(v.users.tolist(), v.items.tolist(), strict=True)) == [(2, 11)]
    assert len(t) == 0
    assert report.valid_unseen_dropped == 2
    assert report.valid_known_dropped == 1
    assert report.test_unseen_dropped == 2
    assert report.test_known_dropped == 3
    assert report.messages()
