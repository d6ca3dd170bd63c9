"""The `entities` analyzer: labelled character spans (city, date, artist...) found in each message."""

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
from interplay.plugins.nlu.batching import MicroBatcher
from pydantic import Field

from .tagger import OnnxTokenTagger, TaggedText

NO_ENTITIES = "none"


class EntitiesSettings(PluginSettings):
    """`[plugins.entities]`."""

    model_dir: Path | None = None  # default: <models_dir>/entities
    min_confidence: float = Field(0.0, ge=0, le=1)  # drop entities whose mean tag probability is lower
    labels: list[str] = Field(default_factory=list)  # keep only these entity labels; empty: all
    max_batch: int = Field(32, ge=1)
    batch_wait_ms: float = Field(2.0, ge=0)
    threads: int = Field(1, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"


class EntitiesAnalyzer(Analyzer[EntitiesSettings]):
    """Annotates each message with its entities in `data["entities"]`; the label lists their kinds."""

    name = "entities"
    Settings: ClassVar[type[PluginSettings]] = EntitiesSettings
    model_home = ModelHome("entities")

    def __init__(self, settings: EntitiesSettings, context: Any) -> None:
        super().__init__(settings, context)
        self.tagger: OnnxTokenTagger | None = None
        self._batcher: MicroBatcher[str, TaggedText] | None = None

    @property
    def options(self) -> EntitiesSettings:
        """The settings (kept for plugins that read `options`; `self.settings` is typed now)."""
        return self.settings

    def model_dir(self) -> Path:
        """The configured model directory, or <models_dir>/entities."""
        home = self.model_home or ModelHome(self.name)
        if self.options.model_dir:
            return home.root("", self.options.model_dir)
        config = getattr(self.context, "config", None)
        if config is None or not hasattr(config, "models_dir"):
            raise PluginError(f"analyzer {self.name!r}: set model_dir in [plugins.{self.name}]")
        return home.root(config.models_dir)

    def _load(self, directory: Path) -> OnnxTokenTagger:
        s = self.options
        return OnnxTokenTagger(directory, threads=s.threads, device=s.device, min_confidence=s.min_confidence)

    async def start(self) -> None:
        """Load the model in a worker thread and start the micro-batcher."""
        directory = self.model_dir()
        try:
            self.tagger = await asyncio.to_thread(self._load, directory)
        except InterplayError as exc:
            raise PluginError(
                f"analyzer {self.name!r}: {exc} (train a tagger with `interplay train tagger --install`, "
                f"or set model_dir in [plugins.{self.name}])"
            ) from exc
        s = self.options
        self._batcher = MicroBatcher(
            self.tagger.predict, max_batch=s.max_batch, max_wait=s.batch_wait_ms / 1000, name=self.name
        )

    async def stop(self) -> None:
        """Release the batcher's thread."""
        if self._batcher is not None:
            await self._batcher.close()
            self._batcher = None

    async def analyze(self, message: Message) -> Annotation | None:
        """One annotation per non-empty message, also when it holds no entity (label "none")."""
        if not message.text.strip():
            return None
        if self._batcher is None or self.tagger is None:
            raise PluginError(f"analyzer {self.name!r} was not started")
        tagged = await self._batcher.submit(message.text)
        keep = set(self.options.labels)
        entities = [e for e in tagged.entities() if not keep or e["label"] in keep]
        return to_annotation(self.name, entities, self.tagger.model.version)


def to_annotation(name: str, entities: list[dict[str, Any]], model: str) -> Annotation:
    """label: the entity kinds found, "+"-joined in text order ("none" if none); confidence: the lowest."""
    kinds = list(dict.fromkeys(e["label"] for e in entities))
    return Annotation(
        analyzer=name,
        label="+".join(kinds) or NO_ENTITIES,
        confidence=min((e["confidence"] for e in entities), default=1.0),
        top=tuple((e["label"], e["confidence"]) for e in entities),
        data={"entities": entities, "model": model},
    )
