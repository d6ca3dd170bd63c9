"""An Interplay analyzer that tags messages written in capitals."""

from interplay.core import Analyzer, Annotation, Message, PluginSettings, hookimpl


class ShoutingSettings(PluginSettings):
    min_letters: int = 4  # shorter messages ("OK", "USA") are never shouting


class ShoutingAnalyzer(Analyzer):
    name = "shouting"
    Settings = ShoutingSettings

    async def analyze(self, message: Message) -> Annotation:
        letters = [c for c in message.text if c.isalpha()]
        shouting = len(letters) >= self.settings.min_letters and all(c.isupper() for c in letters)
        return Annotation(self.name, "yes" if shouting else "no")


@hookimpl
def register_analyzers(register):
    register(ShoutingAnalyzer)
