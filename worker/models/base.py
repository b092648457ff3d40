"""A model base class: load once, then predict on plain arrays. No I/O besides loading."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

log = logging.getLogger(__name__)


class InferenceModel(ABC, Generic[In, Out]):
    """Subclasses implement _load and _predict; predict loads lazily on first use."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.loaded = False

    def load(self) -> None:
        if not self.loaded:
            self._load()
            self.loaded = True
            log.info("loaded %s on %s", type(self).__name__, self.device)

    def predict(self, inputs: In) -> Out:
        self.load()
        return self._predict(inputs)

    @abstractmethod
    def _load(self) -> None: ...

    @abstractmethod
    def _predict(self, inputs: In) -> Out: ...
