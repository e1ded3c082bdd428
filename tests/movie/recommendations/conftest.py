import pytest

from pytorch_models.ngcf.predictor import NgcfPredictor


@pytest.fixture
def fine_tunings(monkeypatch):
    """The lists the model fine-tuned so far (the k of each)."""
    calls = []
    recommend = NgcfPredictor.recommend

    def counted(self, *args, **kwargs):
        calls.append(kwargs.get("k"))
        return recommend(self, *args, **kwargs)

    monkeypatch.setattr(NgcfPredictor, "recommend", counted)
    return calls
