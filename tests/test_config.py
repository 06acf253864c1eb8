import pytest

from agegender import config
from agegender.config import ConfigError


def test_defaults_and_presets(tmp_path):
    c = config.load(None, ["model.preset=seed-fcn-large"])
    assert c.model.kind == "fcn" and c.model.hidden == [1024, 512, 256, 128, 32] and c.model.output == "two_hot"
    p = tmp_path / "c.toml"
    p.write_text('name = "x"\n[model]\npreset = "seed-fcn-tuple"\n[train]\nloss = "mse"\nepochs = 3\n')
    c = config.load(p, ["train.epochs=5", "train.optimizer=sgd", "model.dropout=[0.1, 0.1, 0.1, 0.1, 0.2]"])
    assert c.name == "x" and c.train.epochs == 5 and c.train.optimizer == "sgd" and c.model.output == "tuple"
    assert c.model.dropout == [0.1, 0.1, 0.1, 0.1, 0.2]


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["train.epochz=3"], "unknown key train.epochz"),
        (["trainer.epochs=3"], "unknown section [trainer]"),
        (["train.optimizer=nadam"], "train.optimizer: 'nadam' is not one of adam, adamw, rmsprop, adadelta, sgd"),
        (["train.epochs=many"], "train.epochs: expected an integer"),
        (["train.epochs=0"], "train.epochs: must be ≥ 1"),
        (["model.hidden=[64, 32]", "model.dropout=[0.1]"], "model.dropout: 1 rates for 2 hidden layers"),
        (["model.dropout=1.5"], "model.dropout: expected a rate in [0, 1)"),
        (["model.output=tuple"], "set train.loss = 'mse'"),
        (["model.preset=vgg"], "model.preset: 'vgg' is not one of"),
        (["data.fold=7"], "data.fold: must be in 0..4"),
        (["epochs"], "expected section.key=value"),
        (["model.regularizer=l3"], "model.regularizer: 'l3' is not one of none, l2, l1, l1l2, max_norm"),
    ],
)
def test_bad_values_are_named(overrides, message):
    with pytest.raises(ConfigError) as e:
        config.load(None, overrides)
    assert message in str(e.value)


def test_bad_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        config.load(tmp_path / "nope.toml")
    (tmp_path / "b.toml").write_text("[train\nepochs=3")
    with pytest.raises(ConfigError, match="b.toml: not valid TOML"):
        config.load(tmp_path / "b.toml")


def test_shipped_configs_are_valid():
    from conftest import ROOT

    for p in sorted((ROOT / "configs").glob("*.toml")):
        config.load(p)
