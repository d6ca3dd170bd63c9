"""The model directory's tokenizer and chat template, on `tokenizers` and jinja2 alone.

transformers' AutoTokenizer would work too, but importing transformers imports torch wherever
torch is installed: seconds of start-up and hundreds of MiB for a runtime that never uses it.
Rendering follows transformers' `apply_chat_template` (sandboxed jinja2, trim_blocks,
lstrip_blocks, `raise_exception`, `tojson`) and encodes without adding special tokens, as it
does; a test checks the ids are identical.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from pathlib import Path
from typing import Any

from interplay.core import ModelError


def _token_text(value: Any) -> str | None:
    """tokenizer_config.json writes special tokens as strings or as {"content": ...} objects."""
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


class ChatTokenizer:
    """Encode, decode and render chat prompts the way the model was trained to see them."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        try:
            self._tok = Tokenizer.from_file(str(path / "tokenizer.json"))
            config = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
        except Exception as exc:  # tokenizers raises plain Exception for a bad file
            raise ModelError(f"cannot load the tokenizer in {path} ({exc}): rebuild it with "
                             "`interplay models prepare --force`") from None
        template_file = path / "chat_template.jinja"
        self.chat_template: str | None = config.get("chat_template")
        if template_file.is_file():
            self.chat_template = template_file.read_text(encoding="utf-8")
        names = ("bos_token", "eos_token", "pad_token", "unk_token")
        self.special = {k: _token_text(config.get(k)) for k in names}
        self._template: Any = None

    def __len__(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)

    def get_vocab(self) -> dict[str, int]:
        return self._tok.get_vocab(with_added_tokens=True)

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return self._tok.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, ids: list[int], skip_special_tokens: bool = True, **_: Any) -> str:
        return self._tok.decode(ids, skip_special_tokens=skip_special_tokens)

    def render(self, chat: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """The prompt text for these messages."""
        if self._template is None:
            self._template = _compile(self.chat_template or "")
        return self._template.render(messages=chat, add_generation_prompt=add_generation_prompt,
                                     **{k: v for k, v in self.special.items() if v is not None})

    def end_of_turn_ids(self) -> set[int]:
        """The special token the chat template closes an assistant turn with, if it has one.

        `<|im_end|>` (ChatML), `<end_of_turn>` (Gemma), `<|eot_id|>` (Llama 3): read from the
        template itself, so a reply ends there whatever the manifest's stop list says.
        """
        from jinja2 import TemplateError

        mark = f"\ue000{secrets.token_hex(6)}\ue001"
        chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": mark}]
        try:
            text = self.render(chat, add_generation_prompt=False)
        except TemplateError:
            return set()
        after = text.split(mark, 1)[1].lstrip() if mark in text else ""
        special = {t.content: i for i, t in self._tok.get_added_tokens_decoder().items() if t.special}
        return {i for token, i in special.items() if after.startswith(token)}

    def apply_chat_template(self, chat: list[dict[str, str]], add_generation_prompt: bool = True,
                            tokenize: bool = True) -> Any:
        """Same call shape as transformers' method, so prompt code works with either tokenizer.

        Tokenized, only the template's own special tokens are special: `<|im_end|>` typed by a
        user (or kept in history) stays text (`encode_chat`).
        """
        if not tokenize:
            return self.render(chat, add_generation_prompt)
        return encode_chat(self._tok, self.render, chat, add_generation_prompt)


_PLAIN: dict[int, Any] = {}  # id(tokenizer) -> (tokenizer, its copy that never splits special tokens)


def _plain_copy(backend: Any) -> Any:
    entry = _PLAIN.get(id(backend))
    if entry is None or entry[0] is not backend:
        from tokenizers import Tokenizer

        plain = Tokenizer.from_str(backend.to_str())
        plain.encode_special_tokens = True  # "<|im_end|>" in the text is five ordinary tokens
        entry = _PLAIN[id(backend)] = (backend, plain)
    return entry[1]


def encode_plain(backend: Any, text: str) -> list[int]:
    """Ids of `text` with no special token in them, whatever the text spells (a `tokenizers.Tokenizer`)."""
    return list(_plain_copy(backend).encode(text, add_special_tokens=False).ids)


def encode_chat(backend: Any, render: Any, chat: list[dict[str, str]], add_generation_prompt: bool = True
                ) -> list[int]:
    """Prompt ids in which only the chat template's own text may produce special tokens.

    The template is rendered with a marker in place of each message's content; the rendered
    text is cut at its special tokens (as the tokenizer itself cuts it), and each piece between
    them is encoded with the contents put back and special-token matching off. Without special
    strings in the contents the ids equal those of encoding the whole rendered prompt.
    """
    nonce = secrets.token_hex(6)
    marks = {f"\ue000{nonce}.{i}\ue001": m.get("content", "") for i, m in enumerate(chat)}
    framed = render([{**m, "content": mark} for m, mark in zip(chat, marks, strict=True)],
                    add_generation_prompt)
    added = {t.content: i for i, t in backend.get_added_tokens_decoder().items()}
    cut = re.compile("(" + "|".join(re.escape(t) for t in sorted(added, key=len, reverse=True)) + ")")
    mark = re.compile("\ue000" + nonce + r"\.\d+\ue001")
    ids: list[int] = []
    for piece in cut.split(framed) if added else [framed]:
        if piece in added:
            ids.append(added[piece])
        elif piece:
            ids += encode_plain(backend, mark.sub(lambda m: marks[m.group()], piece))
    return ids


def _compile(source: str) -> Any:
    from jinja2 import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    def tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, **kwargs: Any) -> str:
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, **kwargs)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: dt.datetime.now().strftime(fmt)
    return env.from_string(source)
