"""From a Conversation to prompt token ids: system prompt, NLU-driven instructions, context budget."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interplay.core import Annotation, Conversation, ModelError

Chat = list[dict[str, str]]


@dataclass(frozen=True)
class PromptPolicy:
    """What the prompt says, taken from the plugin's settings."""

    system_prompt: str
    instructions: Mapping[str, Mapping[str, str]]  # analyzer -> label -> extra instruction
    intent_system_prompts: Mapping[str, str]  # intent label -> replacement system prompt
    min_confidence: float = 0.5


def system_message(policy: PromptPolicy, annotations: Mapping[str, Annotation]) -> str:
    """The system prompt for this message: an intent may choose it, annotations add to it."""
    intent = _confident(annotations.get("intent"), policy.min_confidence)
    system = policy.system_prompt
    if intent:
        system = policy.intent_system_prompts.get(intent, system)
    extra = []
    for analyzer, by_label in policy.instructions.items():
        label = _confident(annotations.get(analyzer), policy.min_confidence)
        if label and label in by_label:
            extra.append(by_label[label])
    return "\n".join(part for part in (system, *extra) if part)


def _confident(annotation: Annotation | None, threshold: float) -> str | None:
    if annotation is None or annotation.confidence < threshold:
        return None
    return annotation.label


class PromptBuilder:
    """Renders the chat template and trims history to fit the context budget."""

    def __init__(self, tokenizer: Any, policy: PromptPolicy, *, budget: int) -> None:
        if not getattr(tokenizer, "chat_template", None):
            raise ModelError("the model's tokenizer has no chat template: add one to tokenizer_config.json")
        self.tokenizer = tokenizer
        self.policy = policy
        self.budget = budget

    def chat(self, conversation: Conversation) -> Chat:
        """All turns, oldest first, framed by the system prompt and ending with the new message."""
        system = system_message(self.policy, conversation.message.annotations)
        turns = [{"role": t.role, "content": t.text} for t in conversation.history]
        head = [{"role": "system", "content": system}] if system else []
        return [*head, *turns, {"role": "user", "content": conversation.message.text}]

    def encode(self, chat: Chat) -> list[int]:
        ids = self.tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True)
        return list(ids["input_ids"] if isinstance(ids, Mapping) else ids)

    def build(self, conversation: Conversation) -> list[int]:
        """Prompt ids within the budget: oldest turns go first; system prompt and new message stay."""
        chat = self.chat(conversation)
        head = 1 if chat[0]["role"] == "system" else 0
        ids = self.encode(chat)
        while len(ids) > self.budget and len(chat) > head + 1:
            del chat[head]
            # a reply without the question it answers only confuses the model
            while len(chat) > head + 1 and chat[head]["role"] == "assistant":
                del chat[head]
            ids = self.encode(chat)
        if len(ids) > self.budget:
            ids = self._shorten_message(chat)
        return ids

    def _shorten_message(self, chat: Chat) -> list[int]:
        """Even alone the new message is too long: keep its end, which is what is being asked."""
        message = chat[-1]["content"]
        tokens = self.tokenizer.encode(message, add_special_tokens=False)
        overflow = len(self.encode(chat)) - self.budget
        keep = max(1, len(tokens) - overflow - 1)
        chat[-1] = {"role": "user", "content": self.tokenizer.decode(tokens[-keep:])}
        ids = self.encode(chat)
        if len(ids) > self.budget:
            raise ModelError(
                f"the system prompt alone needs {len(ids)} tokens but the context budget is {self.budget}: "
                "shorten system_prompt or raise context_tokens in [plugins.onnx]"
            )
        return ids
