"""Tiny random chat models (Llama, Gemma 3) with their own tokenizer, for tests and quick benchmarks."""

from __future__ import annotations

from typing import Any

from .source import GEMMA_CHAT_TEMPLATE  # the same turn format as the real model

CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
    "+ '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% endif %}"
)
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
GEMMA_SPECIAL = ["<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>"]
CORPUS = [
    "Hello there, how are you doing today? I am fine, thank you very much.",
    "The weather is lovely and the sun is shining over the quiet harbour.",
    "My order arrived broken and nobody answers my emails, which is frustrating.",
    "Could you explain what a rainbow is? Light bends inside rain drops.",
    "Café, naïve, déjà vu: accented words and emoji 🙂 are bytes too.",
]


def tiny_tokenizer(vocab_size: int = 384, *, style: str = "chatml") -> Any:
    """A byte-level BPE tokenizer trained in milliseconds, with a ChatML (or Gemma) chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = GEMMA_SPECIAL if style == "gemma" else SPECIAL
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer)
    if style == "gemma":
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>",
                                       pad_token="<pad>", unk_token="<pad>")
        fast.chat_template = GEMMA_CHAT_TEMPLATE
        return fast
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def tiny_llama(tokenizer: Any, *, layers: int = 2, hidden: int = 64, seed: int = 0,
               max_positions: int = 1024) -> Any:
    """Random weights, scaled up so logits are well separated and greedy choices are not near-ties."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=max_positions, tie_word_embeddings=False, initializer_range=0.2,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def tiny_gemma3(tokenizer: Any, *, layers: int = 3, hidden: int = 64, seed: int = 0,
                sliding_window: int = 8, max_positions: int = 1024) -> Any:
    """Gemma 3's text decoder: sliding-window and global layers, q/k norms, tied and scaled embeddings.

    The window is tiny so prompts in tests run past it, where a wrong export would show.
    """
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    config = Gemma3TextConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        query_pre_attn_scalar=16, sliding_window=sliding_window,
        layer_types=["sliding_attention"] * (layers - 1) + ["full_attention"],
        max_position_embeddings=max_positions, initializer_range=0.2, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, attn_implementation="eager",
    )
    torch.manual_seed(seed)
    model = Gemma3ForCausalLM(config).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model
