"""Training configuration: one TOML file (the refinement checklist) plus ``section.key=value`` overrides.

Every field has a default, unknown keys and bad values are refused with a message naming the key,
and each run writes the fully resolved configuration next to its weights.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

#: The seed project's fully-connected architectures (hidden sizes), by preset name.
PRESETS: dict[str, dict[str, Any]] = {
    "seed-fcn-large": {"kind": "fcn", "hidden": [1024, 512, 256, 128, 32], "output": "two_hot"},
    "seed-fcn-small": {"kind": "fcn", "hidden": [64, 32, 32, 16, 16], "output": "two_hot"},
    "seed-fcn-tuple": {"kind": "fcn", "hidden": [32, 32, 16, 16, 10], "output": "tuple"},
    "logreg": {"kind": "head", "hidden": [], "output": "two_hot"},
}

CHOICES = {
    "model.kind": ("head", "fcn", "cnn", "dlibtail"),
    "model.output": ("two_hot", "tuple"),
    "model.gender_from": ("stack", "other"),
    "model.regularizer": ("none", "l2", "l1", "l1l2", "max_norm"),
    "train.optimizer": ("adam", "adamw", "rmsprop", "adadelta", "sgd"),
    "train.schedule": ("constant", "cosine", "exponential"),
    "train.loss": ("categorical_crossentropy", "mse", "hinge", "squared_hinge", "categorical_hinge", "kl_divergence"),
    "train.class_weights": ("none", "balanced"),
    "train.balance": ("none", "race", "race_age"),
    "train.precision": ("float32", "bfloat16"),
    "data.test_on": ("original", "augmented"),
    "data.protocol": ("utkface-a8", "adience-5fold", "random-split", "all"),
    "data.gap_ages": ("drop", "nearest", "split"),
}


class ConfigError(ValueError):
    """A configuration problem, naming the key (and file) at fault."""


@dataclass
class DataConfig:
    manifest: str = ""             # a manifest file (CSV/Parquet)
    features: str = ""             # the .npz from `agegender features` for that manifest
    views: str = ""                # more .npz of the same extractors and manifest, computed another way (e.g.
    #                                `--landmarks retina5`): each row trains as a copy of its image; several
    #                                sets `;`-separated, one copy each
    root: str = ""                 # resolve manifest image paths against this folder
    protocol: str = "utkface-a8"   # how train/val/test are split
    fold: int = 0                  # test fold for the k-fold protocols
    folds: int = 5
    val_fraction: float = 0.1
    seed: int = 0
    gap_ages: str = "drop"         # UTKFace ages between groups: drop from age training, nearest group, or
    #                                split: a soft target shared by the two groups around the age
    standardize: bool = True       # z-score features with training-set statistics (stored in the model)
    test_on: str = "original"      # utkface-a8: test on the originals, or on their augmented copies (data augment)
    train_on_copies: bool = True   # augmented copies in the manifest join training (never a held-out face's)


@dataclass
class ModelConfig:
    kind: str = "head"             # head: MLP/logistic head on features; fcn: the seed's net; cnn: compact CNN
    preset: str = ""               # one of PRESETS (fills kind/hidden/output)
    hidden: list[int] = field(default_factory=list)
    activation: str = "relu"
    dropout: list[float] | float = 0.0  # one value for all hidden layers, or one per layer
    regularizer: str = "l2"
    reg_value: float = 1e-4
    max_norm: float = 3.0          # with regularizer = "max_norm"
    initializer: str = "glorot_uniform"
    output: str = "two_hot"        # two softmax heads (age 8, gender 2), or the seed's 2-number tuple
    conv_filters: list[int] = field(default_factory=lambda: [32, 64, 128])  # cnn only
    image_size: int = 32           # cnn only: side of the square chip in the pixels features
    augment: bool = True           # cnn only: random flip / shift / contrast
    tune_tail: bool = True         # dlibtail only: fine-tune dlib's last stage (False: keep dlib's weights)
    trunk_dropout: float = 0.0     # dlibtail only: dropout on the trunk activations while training (regularises)
    years_head: bool = False       # a third head: the age in years (a distribution over 0–100)
    age_hidden: list[int] = field(default_factory=list)  # dense layers after the shared stack that only the age
    #                                (and years) heads see, gender's head reading the shared stack (docs/BENCHMARKS.md)
    age_dropout: float | None = None  # dropout after each age_hidden layer (None: model.dropout's first rate)
    gender_from: str = "stack"     # dlibtail: the gender head reads the dense stack, or ("other") only the features no
    #                                fine-tuned stage reads (e.g. agnet's outputs), linearly — a frozen network's own gender
    age_grad_scale: float = 1.0    # the age and years heads' gradient into the shared stack, times this (0: they do
    #                                not shape it; the gender head alone does)


@dataclass
class TrainConfig:
    epochs: int = 40
    batch_size: int = 256
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9          # sgd only
    schedule: str = "constant"
    loss: str = "categorical_crossentropy"
    early_stopping: int = 8        # patience in epochs on validation loss (0 = off)
    class_weights: str = "none"
    balance: str = "none"          # "race": every race group weighs the same; "race_age": each has the age mix of all (UTKFace labels)
    label_smoothing: float = 0.0   # age and gender heads: mix this much of a uniform target into each label
    focal_gamma: float = 0.0       # > 0: age and gender heads learn with focal cross-entropy, (1 - p) ** this per row
    mixup: float = 0.0             # α of mixup: each training row blended with another of its batch, λ ~ Beta(α, α) (0 = off)
    gender_loss_weight: float = 1.0
    gender_age_balance: float = 0.0  # gender head: weight rows by (rows in their age group) ** -this (1: groups equal)
    gender_only_weight: float = 1.0  # rows with a gender and no age at all (CelebA-like gender-only sets) weigh this much
    years_loss_weight: float = 0.5
    pair_loss_weight: float = 0.0  # > 0: a fourth head, age group × gender (16 classes), trains beside the others on
    #                                the shared layers with this weight and is dropped before the model is saved
    weight_decay: float = 1e-4     # adamw only
    ema: float = 0.0               # > 0: validate, early-stop and keep the weights' moving average (Polyak), this momentum per step
    calibrate: bool = True         # temperature-scale both heads on validation data (the probabilities mean what they say)
    min_coverage: float = 0.85     # Undefined thresholds: keep at least this share of validation answered …
    target_gender_accuracy: float = 0.0  # … or, when > 0, the lowest gender threshold reaching this accuracy on
    target_age_accuracy: float = 0.0     # the answered validation faces (likewise for age)
    precision: str = "float32"     # "bfloat16": Keras mixed precision while training (weights float32; 1.5× faster for the
                                   # default's recipe on this VM's AVX512-BF16 CPU; refused where emulated); the model is float32
    verbose: int = 0
    seed: int = -1                 # the weights' start and the batch order (-1: data.seed, which also makes the split):
                                   # another seed trains another model on the same split (ensembles, seed spread)


@dataclass
class Config:
    name: str = "run"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def _coerce(key: str, value: Any, default: Any, annotation: str) -> Any:
    """Check/convert ``value`` to the type of the field (annotations are strings under __future__)."""
    if "list[int]" in annotation and isinstance(value, list):
        if not all(isinstance(v, int) and v > 0 for v in value):
            raise ConfigError(f"{key}: expected a list of positive integers, got {value!r}")
        return value
    if "list[float]" in annotation:
        if isinstance(value, list):
            if not all(isinstance(v, int | float) and 0 <= v < 1 for v in value):
                raise ConfigError(f"{key}: dropout rates must be in [0, 1), got {value!r}")
            return [float(v) for v in value]
        if isinstance(value, int | float) and 0 <= value < 1:
            return float(value)
        raise ConfigError(f"{key}: expected a rate in [0, 1) or a list of them, got {value!r}")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        if key in CHOICES and value not in CHOICES[key]:
            raise ConfigError(f"{key}: {value!r} is not one of {', '.join(CHOICES[key])}")
        return value
    return value


def _parse_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise ConfigError(f"override {text!r}: expected section.key=value (e.g. train.epochs=20)")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word: take it as a string
    return key.strip(), value


def from_dict(raw: dict, source: str = "config") -> Config:
    cfg = Config()
    for top, value in raw.items():
        if top == "name":
            cfg.name = str(value)
            continue
        if top not in _SECTIONS:
            raise ConfigError(f"{source}: unknown section [{top}] (expected name, [data], [model], [train])")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{top}] must be a table")
        section = getattr(cfg, top)
        known = {f.name: f for f in fields(section)}
        preset = value.get("preset") if top == "model" else None
        if preset:
            if preset not in PRESETS:
                raise ConfigError(f"model.preset: {preset!r} is not one of {', '.join(PRESETS)}")
            for k, v in PRESETS[preset].items():
                setattr(section, k, v)
        for k, v in value.items():
            if k not in known:
                raise ConfigError(f"{source}: unknown key {top}.{k} (known: {', '.join(known)})")
            setattr(section, k, _coerce(f"{top}.{k}", v, getattr(Config(), top).__dict__[k], str(known[k].type)))
    validate(cfg)
    return cfg


def load(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read a TOML config (or start from defaults) and apply ``section.key=value`` overrides."""
    raw: dict = {}
    source = "overrides"
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: no such config file")
        try:
            raw = tomllib.loads(p.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as e:
            raise ConfigError(f"{p}: not UTF-8 text (byte {e.start} cannot be read); save the config as UTF-8") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: not valid TOML ({e})") from None
        source = str(p)
    for text in overrides or []:
        key, value = _parse_override(text)
        if key == "name":
            raw["name"] = value
            continue
        if "." not in key:
            raise ConfigError(f"override {text!r}: expected section.key=value")
        sec, k = key.split(".", 1)
        raw.setdefault(sec, {})[k] = value
    return from_dict(raw, source)


def validate(cfg: Config) -> None:
    m, t, d = cfg.model, cfg.train, cfg.data
    if isinstance(m.dropout, list) and m.dropout and len(m.dropout) != len(m.hidden):
        raise ConfigError(f"model.dropout: {len(m.dropout)} rates for {len(m.hidden)} hidden layers")
    if any(not isinstance(u, int) or u < 1 for u in m.age_hidden):
        raise ConfigError(f"model.age_hidden: layer sizes must be whole numbers ≥ 1, got {m.age_hidden}")
    if m.age_dropout is not None and not 0 <= m.age_dropout < 1:
        raise ConfigError(f"model.age_dropout: a rate in [0, 1), got {m.age_dropout}")
    if not 0 <= m.age_grad_scale <= 1:
        raise ConfigError(f"model.age_grad_scale: a factor in [0, 1], got {m.age_grad_scale}")
    if m.gender_from == "other" and m.kind != "dlibtail":
        raise ConfigError("model.gender_from = 'other' needs model.kind = 'dlibtail' (the features beside its stages)")
    if t.pair_loss_weight < 0:
        raise ConfigError(f"train.pair_loss_weight: a weight ≥ 0 (0 = no pair head), got {t.pair_loss_weight}")
    if t.pair_loss_weight > 0 and m.output == "tuple":
        raise ConfigError("train.pair_loss_weight needs separate age and gender heads (model.output = 'two_hot')")
    if m.age_hidden and m.output == "tuple":
        raise ConfigError("model.age_hidden needs separate age and gender heads (model.output = 'two_hot')")
    if m.output == "tuple" and t.loss != "mse":
        raise ConfigError("model.output = 'tuple' regresses (age index, gender index): set train.loss = 'mse'")
    for key, value, lo in (("train.epochs", t.epochs, 1), ("train.batch_size", t.batch_size, 1), ("data.folds", d.folds, 2)):
        if value < lo:
            raise ConfigError(f"{key}: must be ≥ {lo}, got {value}")
    if not 0 < t.learning_rate < 10:
        raise ConfigError(f"train.learning_rate: must be in (0, 10), got {t.learning_rate}")
    if not 0 <= d.val_fraction < 1:
        raise ConfigError(f"data.val_fraction: must be in [0, 1), got {d.val_fraction}")
    if not 0 <= d.fold < d.folds:
        raise ConfigError(f"data.fold: must be in 0..{d.folds - 1}, got {d.fold}")
    if not 0 <= t.gender_age_balance <= 1:
        raise ConfigError(f"train.gender_age_balance: must be in [0, 1] (0 off, 1 every age group equal), got {t.gender_age_balance}")
    if not 0 < t.gender_only_weight <= 10:
        raise ConfigError(f"train.gender_only_weight: must be in (0, 10] (1: as much as any other row), got {t.gender_only_weight}")
    if not 0 <= t.mixup <= 10:
        raise ConfigError(f"train.mixup: the Beta distribution's α must be in [0, 10] (0 = off), got {t.mixup}")
    if not 0 <= t.ema < 1:
        raise ConfigError(f"train.ema: the moving average's momentum must be in [0, 1) (0 = off), got {t.ema}")
    if not 0 <= t.label_smoothing < 1:
        raise ConfigError(f"train.label_smoothing: must be in [0, 1), got {t.label_smoothing}")
    if t.label_smoothing > 0 and t.loss != "categorical_crossentropy":
        raise ConfigError("train.label_smoothing needs train.loss = 'categorical_crossentropy'")
    if not 0 <= t.focal_gamma <= 5:
        raise ConfigError(f"train.focal_gamma: must be in [0, 5], got {t.focal_gamma}")
    if t.focal_gamma > 0 and t.loss != "categorical_crossentropy":
        raise ConfigError("train.focal_gamma needs train.loss = 'categorical_crossentropy'")
    for key, value in (("train.target_gender_accuracy", t.target_gender_accuracy), ("train.target_age_accuracy", t.target_age_accuracy)):
        if not 0 <= value < 1:
            raise ConfigError(f"{key}: must be in [0, 1) (0 = use train.min_coverage), got {value}")
    if m.output == "tuple" and d.gap_ages == "split":
        raise ConfigError("data.gap_ages = 'split' gives soft age targets: model.output = 'tuple' regresses one index")
    if m.output == "tuple" and (m.years_head or m.kind == "dlibtail"):
        raise ConfigError("model.output = 'tuple' has no years head and no dlibtail variant")
