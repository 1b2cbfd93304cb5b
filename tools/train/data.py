"""Tokenizer training and token streams for the model zoo.

The corpus (tools/corpus/build.mjs) holds documents separated by a line `<|endoftext|>`. Streams put
`<|endoftext|>` in front of every document, so a sequence that starts a document looks like a prompt
that starts fresh (the token doubles as BOS; nothing else is added).
"""

import hashlib
import json
import os

import numpy as np

DOC_SEPARATOR = "\n<|endoftext|>\n"
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
EOT, IM_START, IM_END = 0, 1, 2
# Qwen2's pre-tokenizer split (PLM's tokenizer uses it too): contractions, letter runs with one
# leading non-letter, single digits, punctuation runs, newlines, spaces. One split for the whole zoo
# means the engine needs one pre-tokenizer for both its real checkpoints and these.
SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def read_documents(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return [d.strip("\n") for d in text.split(DOC_SEPARATOR) if d.strip()]


def train_tokenizer(docs, vocab_size, out_dir):
    """Byte-level BPE with the Qwen2 split and NFC; writes tokenizer.json + tokenizer_config.json."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer=trainer, length=len(docs))
    for i, s in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(s) == i, f"special token {s} must have id {i}"
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(), f, indent=2)
    return tok


def tokenizer_config():
    added = {
        str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
        for i, s in enumerate(SPECIAL_TOKENS)
    }
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "added_tokens_decoder": added,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 512,
        "chat_template": CHAT_TEMPLATE,
    }


def _chat_selected(doc_index):
    """About one document in ten is also rendered as ChatML turns (deterministic by index)."""
    return hashlib.sha256(f"chat-{doc_index}".encode()).digest()[0] < 26


def chat_render(paragraphs):
    """Consecutive paragraph pairs as user / assistant turns, so <|im_start|> and <|im_end|> are
    trained and a reply ends with <|im_end|>. The assistant turn continues the user's passage."""
    turns = []
    for i in range(0, len(paragraphs) - 1, 2):
        turns.append(f"<|im_start|>user\n{paragraphs[i]}<|im_end|>\n<|im_start|>assistant\n{paragraphs[i + 1]}<|im_end|>\n")
    return "".join(turns)


def encode_stream(tok, docs, with_chat):
    """Token stream: [EOT] doc [EOT] doc ... ; with_chat adds ChatML renderings of ~10% of documents
    (training only; validation is plain prose). Returns uint16 numpy array."""
    texts = []
    for i, d in enumerate(docs):
        texts.append(d)
        if with_chat and _chat_selected(i):
            paras = [p for p in d.split("\n") if p.strip()]
            if len(paras) >= 2:
                texts.append(chat_render(paras[:16]))
    encs = tok.encode_batch(texts, add_special_tokens=False)
    total = sum(len(e.ids) + 1 for e in encs)
    out = np.empty(total, dtype=np.uint16)
    p = 0
    for e in encs:
        out[p] = EOT
        out[p + 1:p + 1 + len(e.ids)] = e.ids
        p += 1 + len(e.ids)
    return out


def valid_windows(stream, ctx):
    """Non-overlapping windows of ctx+1 tokens (inputs + next-token targets), stepping by ctx, so
    every token after the first is predicted exactly once; the tail shorter than a window is dropped."""
    n = (len(stream) - 1) // ctx
    idx = np.arange(n)[:, None] * ctx + np.arange(ctx + 1)[None, :]
    return stream[idx]
