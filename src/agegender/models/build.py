"""Build the three model families from a :class:`~agegender.config.Config`."""

from __future__ import annotations

from agegender.config import Config

#: The years head: a distribution over ages 0, 1, …, 100 (older ages count as 100).
YEARS_BINS = 101
#: The auxiliary head of ``train.pair_loss_weight``: age group × gender, class ``2 · group + gender``.
PAIR_HEAD = "pair"


def _regularizer(cfg: Config):
    import keras

    m = cfg.model
    if m.regularizer == "l2":
        return keras.regularizers.L2(m.reg_value), None
    if m.regularizer == "l1":
        return keras.regularizers.L1(m.reg_value), None
    if m.regularizer == "l1l2":
        return keras.regularizers.L1L2(l1=m.reg_value, l2=m.reg_value), None
    if m.regularizer == "max_norm":
        return None, keras.constraints.MaxNorm(m.max_norm)
    return None, None


def _dropouts(cfg: Config, n: int) -> list[float]:
    d = cfg.model.dropout
    return list(d) if isinstance(d, list) and d else [float(d or 0.0)] * n


def _outputs(cfg: Config, x, gender_x=None):
    """The heads on ``x``; the gender head on ``gender_x`` instead when given (``model.gender_from = "other"``)."""
    import keras

    reg, con = _regularizer(cfg)
    init = cfg.model.initializer
    # the heads compute in float32 whatever the policy (train.precision): a softmax and its loss need the range
    if cfg.model.output == "tuple":
        return {"tuple": keras.layers.Dense(2, name="tuple", kernel_initializer=init, dtype="float32")(x)}
    age_sizes = cfg.model.age_hidden  # layers only the age and years heads read
    age_rate = _dropouts(cfg, 1)[0] if cfg.model.age_dropout is None else cfg.model.age_dropout
    age_in = x
    if cfg.model.age_grad_scale != 1.0:
        from agegender.models.layers import GradientScale

        age_in = GradientScale(cfg.model.age_grad_scale, name="age_grad_scale")(x)
    age_x = _dense_stack(cfg, age_in, age_sizes, [age_rate] * len(age_sizes), prefix="age_")
    out = {
        "age": keras.layers.Dense(8, activation="softmax", name="age", kernel_initializer=init,
                                  kernel_regularizer=reg, kernel_constraint=con, dtype="float32")(age_x),
        "gender": keras.layers.Dense(2, activation="softmax", name="gender", kernel_initializer=init,
                                     kernel_regularizer=reg, kernel_constraint=con, dtype="float32")(
            x if gender_x is None else gender_x),
    }
    if cfg.model.years_head:
        out["years"] = keras.layers.Dense(YEARS_BINS, activation="softmax", name="years", kernel_initializer=init,
                                          kernel_regularizer=reg, kernel_constraint=con, dtype="float32")(age_x)
    if cfg.train.pair_loss_weight > 0:  # training only (training.without_training_heads drops it)
        out[PAIR_HEAD] = keras.layers.Dense(16, activation="softmax", name=PAIR_HEAD, kernel_initializer=init,
                                            kernel_regularizer=reg, kernel_constraint=con, dtype="float32")(x)
    return out


def _dense_stack(cfg: Config, x, sizes: list[int] | None = None, rates: list[float] | None = None, prefix: str = ""):
    """Dense layers ``{prefix}dense_{i}`` of ``sizes``, each followed by dropout at its rate (default: ``model.hidden``
    with ``model.dropout``'s rates)."""
    import keras

    if sizes is None:
        sizes, rates = cfg.model.hidden, _dropouts(cfg, len(cfg.model.hidden))
    reg, con = _regularizer(cfg)
    for i, (units, rate) in enumerate(zip(sizes, rates)):
        x = keras.layers.Dense(units, activation=cfg.model.activation, kernel_initializer=cfg.model.initializer,
                               kernel_regularizer=reg, kernel_constraint=con, name=f"{prefix}dense_{i}")(x)
        if rate > 0:
            x = keras.layers.Dropout(rate, name=f"{prefix}dropout_{i}")(x)
    return x


def map_tail_module(extractor: str):
    """The module with the trainable last stage (``MAP_DIM``, ``tail``) that a map extractor's trailing
    columns feed: ``faceresmap`` → faceres-deep's last block, ``agnetmap`` → the age network's last stage."""
    from agegender.models import agnet_tail, faceres_tail

    tails = {"faceresmap": faceres_tail, "agnetmap": agnet_tail}
    if extractor not in tails:
        raise ValueError(f"no trainable stage for {extractor!r}; choose from {', '.join(tails)}")
    return tails[extractor]


def build_model(cfg: Config, input_dim: int, mean=None, variance=None, trunk_columns: int | None = None,
                map_tail: str | None = None):
    """``head``/``fcn``: dense layers on a feature vector; ``cnn``: a compact CNN on the pixel chip
    (``input_dim`` = image_size² × 3, reshaped inside the model so every family takes the same input).

    ``mean``/``variance`` (training-set statistics) become a :class:`Standardize` layer inside the model, so
    the standardisation travels with the weights into every export.

    ``dlibtail``: the first ``trunk_columns`` features are dlib's trunk activations (the ``dlibtrunk``
    extractor, or ``dlibtrunk64``: then its last two stages run); dlib's last stage runs on them
    (fine-tuned unless ``model.tune_tail`` is false), its pooled 256 values join the remaining
    (standardised) features, and the dense stack follows. ``trunk_columns`` = 0 (with ``map_tail``): no
    dlib stage, only the map's network's.
    ``map_tail`` (a map extractor's name, :func:`map_tail_module`): the last features are that network's
    map before its last stage, which runs on them fine-tuned beside dlib's stage — ``faceresmap``:
    faceres-deep's 7×7×1024 map (``models/faceres_tail.py``), ``agnetmap``: the age network's 7×7×128
    map (``models/agnet_tail.py``); screens so far (docs/BENCHMARKS.md).
    """
    import keras

    inp = keras.Input((input_dim,), name="features")
    x = inp
    gender_x = None  # the gender head's own input (model.gender_from = "other"), else the stack's
    if mean is not None:
        from agegender.models.layers import Standardize

        std = Standardize(input_dim, name="standardize")
        x = std(x)
        std.set_statistics(mean, variance)
    if cfg.model.kind in ("head", "fcn"):
        x = _dense_stack(cfg, x)
    elif cfg.model.kind == "cnn":
        s = cfg.model.image_size
        if s * s * 3 != input_dim:
            raise ValueError(f"model.image_size={s} needs {s * s * 3} pixel features, the features have {input_dim}")
        x = keras.layers.Reshape((s, s, 3))(x)
        if cfg.model.augment:
            x = keras.layers.RandomFlip("horizontal")(x)
            x = keras.layers.RandomTranslation(0.06, 0.06, fill_mode="reflect")(x)
            x = keras.layers.RandomContrast(0.2)(x)
        reg, _ = _regularizer(cfg)
        # Levi & Hassner's shape (three conv layers, each pooled, then dense layers), sized for a CPU.
        for i, f in enumerate(cfg.model.conv_filters):
            x = keras.layers.Conv2D(f, 3, padding="same", use_bias=False, kernel_regularizer=reg, name=f"conv_{i}")(x)
            x = keras.layers.BatchNormalization(momentum=0.9)(x)  # moving stats keep up on short CPU runs
            x = keras.layers.Activation(cfg.model.activation)(x)
            x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        x = _dense_stack(cfg, x)
    elif cfg.model.kind == "dlibtail":
        from agegender.dlib_models import dlib_model_file
        from agegender.features.dlib_embedding import MODEL_FILE
        from agegender.features.dlib_onnx import cut_of_dim
        from agegender.models.dlibtail import Columns, tail

        trunk_columns = trunk_columns or 0
        if trunk_columns or not map_tail:
            try:
                cut = cut_of_dim(trunk_columns)
            except ValueError as e:
                raise ValueError(f"model.kind = 'dlibtail' needs a dlib trunk's features (dlibtrunk, dlibtrunk64) first "
                                 f"in data.features, or a map extractor's last: {e}") from None

        def dropped(t, name: str):
            return keras.layers.Dropout(cfg.model.trunk_dropout, name=name)(t) if cfg.model.trunk_dropout > 0 else t

        parts = []
        if trunk_columns:
            trunk = dropped(Columns(0, trunk_columns, name="trunk")(x), "trunk_dropout")
            pooled = tail(trunk, dlib_model_file(MODEL_FILE), trainable=cfg.model.tune_tail, cut=cut)
            parts.append(keras.layers.LayerNormalization(name="pooled_norm")(pooled))
        end = input_dim
        if map_tail:
            module, net = map_tail_module(map_tail), map_tail.removesuffix("map")
            end = input_dim - module.MAP_DIM
            fmap = dropped(Columns(end, input_dim, name=f"{net}_map")(x), f"{net}_map_dropout")
            parts.append(keras.layers.LayerNormalization(name=f"{net}_pooled_norm")(
                module.tail(fmap, trainable=cfg.model.tune_tail)))
        other = Columns(trunk_columns, end, name="other")(x) if end > trunk_columns else None
        if other is not None:
            parts.append(other)
        elif cfg.model.gender_from == "other":
            raise ValueError("model.gender_from = 'other' needs features beside the fine-tuned stages (e.g. agnet's)")
        x = _dense_stack(cfg, keras.layers.Concatenate(name="with_other_features")(parts) if len(parts) > 1 else parts[0])
        if cfg.model.gender_from == "other":
            gender_x = other
    else:
        raise ValueError(f"unknown model.kind {cfg.model.kind!r}")
    return keras.Model(inp, _outputs(cfg, x, gender_x), name=f"agegender_{cfg.model.kind}")
