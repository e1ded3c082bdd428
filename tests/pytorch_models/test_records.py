from dataclasses import asdict

import pytest

from pytorch_models.ngcf import NGCFConfig
from pytorch_models.records import TrainConfig


def test_configs_round_trip_through_asdict():
    config = TrainConfig(model=NGCFConfig(layer_sizes=(8, 4)), batch_size=7, seed=3)
    assert TrainConfig(**asdict(config)) == config
    # JSON and old checkpoints give lists for the layer sizes
    data = asdict(config)
    data["model"]["layer_sizes"] = [8, 4]
    assert TrainConfig(**data) == config
    assert hash(TrainConfig(**data).model) == hash(config.model)


@pytest.mark.parametrize(
    "fields",
    [
        {"batch_size": 0},
        {"num_negatives": 0},
        {"negative_pool": 0},
        {"max_epochs": 0},
        {"patience": 0},
        {"eval_every": 0},
        {"edge_dropout": 1.0},
        {"edge_dropout": -0.1},
    ],
)
def test_train_config_rejects_impossible_values(fields):
    with pytest.raises(ValueError):
        TrainConfig(**fields)


@pytest.mark.parametrize(
    "fields",
    [
        {"embedding_dim": 0},
        {"layer_sizes": (8, 0)},
        {"message_dropout": 1.0},
        {"leaky_relu_slope": -0.5},
    ],
)
def test_model_config_rejects_impossible_values(fields):
    with pytest.raises(ValueError):
        NGCFConfig(**fields)
