#!/usr/bin/env python3
"""Generate a tiny, deterministic llama-architecture GGUF model for tests.

The model has random weights, so its output is gibberish; it exists only so that
llama.cpp / node-llama-cpp can load it, tokenize, apply the ChatML template and
generate a few tokens quickly on a CPU.

Requirements (pinned; other versions may produce different bytes):
    pip install gguf==0.19.0 numpy==2.4.6

Usage:
    python3 make_tiny_gguf.py OUTPUT_PATH

Writes OUTPUT_PATH atomically (via OUTPUT_PATH + '.tmp' and a rename) and
prints one line: "<path> <size> bytes sha256=<hex>". Running it again always
produces a byte-identical file.
"""

import hashlib
import os
import sys

import numpy as np
from gguf import GGUFWriter, LlamaFileType, TokenType

# --- Hyper-parameters --------------------------------------------------------

ARCH = "llama"
N_LAYER = 2  # block_count
N_EMBD = 64  # embedding_length
N_FF = 128  # feed_forward_length
N_HEAD = 4  # head_count
N_HEAD_KV = 4  # head_count_kv (plain multi-head attention)
HEAD_DIM = N_EMBD // N_HEAD  # 16; RoPE is applied to the full head
N_CTX = 512  # context_length
ROPE_FREQ_BASE = 10000.0
RMS_EPS = 1e-5
SEED = 1234
INIT_STD = 0.02  # std-dev of the random normal weights

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# --- Tokenizer: byte-level BPE ("gpt2"), like Qwen/GPT-2 ---------------------

# Control tokens come first, so their ids are small and fixed.
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
UNK_ID, BOS_ID, EOS_ID, IM_START_ID, IM_END_ID = range(len(SPECIAL_TOKENS))

# Text pieces that get their own token, most important first. Each entry is a
# single GPT-2 pre-tokenizer unit (a word with its leading space, a run of
# newlines, ...). build_vocab() adds the merges needed to form each one, so
# common fragments listed early ("he", "in", ...) are reused by later words.
# This list yields 99 merges -> 5 special + 256 byte + 99 merged = 360 tokens.
MERGED_WORDS = [
    " t", "he", "in", "er", "an", "re", "on", " a", "en", "at",
    "ou", "or", "es", "is", "it", "ll", "st", "ing", "ed",
    " the", " and", " to", " of", " in", " is", " you", " that", " it",
    " for", " I", "lo", " hello", " world", "Hello", "hi", " hi", " are",
    " be", " this", " with", " can", " not", " have", " what", " how",
    " help", "user", "system", "assistant", "\n\n", "'s", " on", " we",
    " me", " do", " so", " my", " all", " will", " there", " one", " your",
    " here",
]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from each byte to a printable unicode char."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


def bpe(piece: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """Split `piece` with standard BPE: repeatedly apply the best-ranked merge."""
    seq = list(piece)
    while len(seq) > 1:
        candidates = [
            (ranks[pair], i)
            for i, pair in enumerate(zip(seq, seq[1:]))
            if pair in ranks
        ]
        if not candidates:
            break
        _, i = min(candidates)
        seq[i : i + 2] = [seq[i] + seq[i + 1]]
    return seq


def build_vocab() -> tuple[list[str], list[int], list[str]]:
    """Return (tokens, token_types, merges) for the byte-level BPE vocab."""
    byte_char = bytes_to_unicode()

    def encode(text: str) -> str:
        return "".join(byte_char[b] for b in text.encode("utf-8"))

    tokens = list(SPECIAL_TOKENS)
    types = [int(TokenType.CONTROL)] * len(SPECIAL_TOKENS)

    # All 256 single bytes, in byte order, so any text can be tokenized.
    tokens += [byte_char[b] for b in range(256)]
    types += [int(TokenType.NORMAL)] * 256

    # Grow a byte-level BPE merge list: while a word does not yet encode to a
    # single token, merge its first two pieces. New merges get the lowest
    # priority, so earlier tokens keep encoding the same way and every token
    # is actually reachable by llama.cpp's BPE.
    ranks: dict[tuple[str, str], int] = {}
    merges = []
    for word in MERGED_WORDS:
        piece = encode(word)
        while len(seq := bpe(piece, ranks)) > 1:
            left, right = seq[0], seq[1]
            ranks[(left, right)] = len(merges)
            merges.append(f"{left} {right}")
            tokens.append(left + right)
            types.append(int(TokenType.NORMAL))

    assert len(set(tokens)) == len(tokens), "duplicate token in vocab"
    return tokens, types, merges


# --- Weights -----------------------------------------------------------------


def build_tensors(n_vocab: int) -> list[tuple[str, np.ndarray]]:
    """Deterministic random F32 weights. numpy shapes are (rows=out, cols=in);
    the gguf writer reverses them into ggml's {in, out} order."""
    rng = np.random.default_rng(SEED)

    def normal(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * INIT_STD).astype(np.float32)

    def ones(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)

    tensors = [("token_embd.weight", normal(n_vocab, N_EMBD))]
    for i in range(N_LAYER):
        p = f"blk.{i}."
        tensors += [
            (p + "attn_norm.weight", ones(N_EMBD)),
            (p + "attn_q.weight", normal(N_HEAD * HEAD_DIM, N_EMBD)),
            (p + "attn_k.weight", normal(N_HEAD_KV * HEAD_DIM, N_EMBD)),
            (p + "attn_v.weight", normal(N_HEAD_KV * HEAD_DIM, N_EMBD)),
            (p + "attn_output.weight", normal(N_EMBD, N_HEAD * HEAD_DIM)),
            (p + "ffn_norm.weight", ones(N_EMBD)),
            (p + "ffn_gate.weight", normal(N_FF, N_EMBD)),
            (p + "ffn_up.weight", normal(N_FF, N_EMBD)),
            (p + "ffn_down.weight", normal(N_EMBD, N_FF)),
        ]
    tensors += [
        ("output_norm.weight", ones(N_EMBD)),
        ("output.weight", normal(n_vocab, N_EMBD)),
    ]
    return tensors


# --- Writing -----------------------------------------------------------------


def write_model(path: str) -> None:
    tokens, token_types, merges = build_vocab()

    w = GGUFWriter(path, ARCH)
    w.add_name("ripple-tiny-test")
    w.add_description("Tiny random-weight llama model for tests; output is gibberish.")
    w.add_file_type(LlamaFileType.ALL_F32)

    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(ROPE_FREQ_BASE)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_vocab_size(len(tokens))

    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")  # GPT-2 style pre-tokenizer regex
    w.add_token_list(tokens)
    w.add_token_types(token_types)
    w.add_token_merges(merges)
    w.add_unk_token_id(UNK_ID)
    w.add_bos_token_id(BOS_ID)
    w.add_eos_token_id(IM_END_ID)  # generation stops at <|im_end|>
    w.add_eot_token_id(IM_END_ID)
    w.add_pad_token_id(EOS_ID)
    w.add_add_bos_token(False)  # ChatML prompts carry no BOS (as in Qwen)
    w.add_add_eos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)

    for name, data in build_tensors(len(tokens)):
        w.add_tensor(name, data)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUTPUT_PATH")
    out = sys.argv[1]
    tmp = out + ".tmp"

    write_model(tmp)
    with open(tmp, "rb") as f:
        data = f.read()
        os.fsync(f.fileno())
    os.replace(tmp, out)  # atomic on the same filesystem

    digest = hashlib.sha256(data).hexdigest()
    print(f"{out} {len(data)} bytes sha256={digest}")


if __name__ == "__main__":
    main()
