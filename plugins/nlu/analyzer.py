"""The base analyzer behind `intent` and `sentiment`: a model directory served with micro-batching."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar, Literal

from interplay.core import (
    Analyzer,
    Annotation,
    InterplayError,
    Message,
    ModelHome,
    PluginError,
    PluginSettings,
)
from pydantic import Field

from .batching import MicroBatcher
from .classifier import OnnxTextClassifier, Prediction


class ClassifierSettings(PluginSettings):
    """Keys shared by the `[plugins.intent]` and `[plugins.sentiment]` tables."""

    model_dir: Path | None = None  # default: <models_dir>/<the class's model_home directory>
    top_k: int = Field(3, ge=1)
    max_batch: int = Field(32, ge=1)
    batch_wait_ms: float = Field(2.0, ge=0)
    threads: int = Field(1, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"


class ClassifierAnalyzer(Analyzer[ClassifierSettings]):
    """Annotates each message with a label, its confidence and the top labels."""

    Settings: ClassVar[type[PluginSettings]] = ClassifierSettings
    oos_label: str | None = None

    def __init__(self, settings: ClassifierSettings, context: Any) -> None:
        super().__init__(settings, context)
        self.classifier: OnnxTextClassifier | None = None
        self._batcher: MicroBatcher[str, Prediction] | None = None

    def model_dir(self) -> Path:
        """The configured model directory, or this plugin's default under the models dir."""
        configured = self.settings.model_dir
        home = self.model_home or ModelHome(self.name)
        if configured:
            return home.root("", configured)
        config = getattr(self.context, "config", None)
        if config is None or not hasattr(config, "models_dir"):
            raise PluginError(f"analyzer {self.name!r}: set model_dir in [plugins.{self.name}]")
        return home.root(config.models_dir)

    def _threshold(self) -> float | None:
        return None

    def _load(self, directory: Path) -> OnnxTextClassifier:
        s = self.settings
        return OnnxTextClassifier(
            directory,
            threads=s.threads,
            device=s.device,
            threshold=self._threshold(),
            oos_label=self.oos_label,
            top_k=s.top_k,
        )

    async def start(self) -> None:
        """Load the model in a worker thread (it takes a moment) and start the batcher."""
        directory = self.model_dir()
        try:
            self.classifier = await asyncio.to_thread(self._load, directory)
        except InterplayError as exc:
            raise PluginError(
                f"analyzer {self.name!r}: {exc} (or run `interplay models prepare --only {self.name}`, "
                f"or set model_dir in [plugins.{self.name}])"
            ) from exc
        s = self.settings
        self._batcher = MicroBatcher(
            self.classifier.predict, max_batch=s.max_batch, max_wait=s.batch_wait_ms / 1000, name=self.name
        )

    async def stop(self) -> None:
        """Release the batcher's thread; queued messages get an error."""
        if self._batcher is not None:
            await self._batcher.close()
            self._batcher = None

    async def analyze(self, message: Message) -> Annotation | None:
        """One annotation per message with text; None for empty messages."""
        if not message.text.strip():
            return None
        if self._batcher is None or self.classifier is None:
            raise PluginError(f"analyzer {self.name!r} was not started")
        prediction = await self._batcher.submit(message.text)
        data: dict[str, Any] = {"model": self.classifier.model.version}
        if prediction.below_threshold:
            data["below_threshold"] = True
            data["threshold"] = self.classifier.threshold
        return Annotation(
            analyzer=self.name,
            label=prediction.label,
            confidence=prediction.confidence,
            top=prediction.top,
            data=data,
        )
