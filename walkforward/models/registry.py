"""The model kinds a config may name (`model.kind`). A new kind is a `ModelKind` subclass in its own file and one
entry here; config validation, `--help` and "did you mean" read this registry."""

from __future__ import annotations

from walkforward.models.base import ModelKind
from walkforward.models.lightgbm import LightGBMModel
from walkforward.models.sklearn import RandomForestModel, SklearnModel

MODEL_KINDS: dict[str, ModelKind] = {kind.name: kind for kind in (LightGBMModel(), RandomForestModel(), SklearnModel())}
