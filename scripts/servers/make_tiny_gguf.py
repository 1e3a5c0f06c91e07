"""Write a tiny llama model with random weights as GGUF, for llama.cpp's llama-server in tests.

Why random weights: the tests check the server's protocol (OpenAI streaming chunks, `[DONE]`,
`usage`, `/metrics`), not the text; a 2-layer, 64-wide model of 17 MB loads in a blink and
generates hundreds of tokens/s on CPU. The tokenizer is copied from llama.cpp's own
`models/ggml-vocab-llama-spm.gguf` (32,000 SentencePiece tokens), so prompts tokenize as for a
real llama. The output rows of the control tokens (<unk>, <s>, </s>) are zero, so their logit is
0 while the others spread with a standard deviation of about 4: an end-of-generation token never
reaches the sampler's top-k, and every completion runs to its `max_tokens` (exact token counts in
tests). Deterministic: the weights come from a fixed seed.

Runs with the gguf venv in the cache (scripts/servers/install_llamacpp.sh), never with slocheck's.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter  # type: ignore[import-not-found,unused-ignore]

N_LAYER = 2
N_EMBD = 64
N_HEAD = 4
N_FF = 128
N_CTX_TRAIN = 2048
SEED = 15
CONTROL = 3  # llama.cpp's LLAMA_TOKEN_TYPE_CONTROL


def _field(reader: Any, key: str) -> Any:
    """The value of a scalar or array field of a GGUF file read with GGUFReader."""
    field = reader.fields[key]
    if field.types[0] == GGUFValueType.ARRAY:
        if field.types[1] == GGUFValueType.STRING:
            return [bytes(field.parts[i]) for i in field.data]
        return [field.parts[i][0].item() for i in field.data]
    if field.types[0] == GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode()
    return field.parts[field.data[0]][0].item()


def main() -> None:  # noqa: PLR0915 (the GGUF header, written field by field in file order)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vocab", type=Path, required=True, help="ggml-vocab-llama-spm.gguf")
    parser.add_argument("--out", type=Path, required=True, help="GGUF file to write")
    args = parser.parse_args()

    vocab = GGUFReader(args.vocab)
    tokens: list[bytes] = _field(vocab, "tokenizer.ggml.tokens")
    scores: list[float] = _field(vocab, "tokenizer.ggml.scores")
    token_types: list[int] = _field(vocab, "tokenizer.ggml.token_type")
    n_vocab = len(tokens)

    tmp = args.out.with_suffix(".tmp")
    writer = GGUFWriter(str(tmp), "llama")
    writer.add_name("slocheck-tiny-random-llama")
    writer.add_block_count(N_LAYER)
    writer.add_context_length(N_CTX_TRAIN)
    writer.add_embedding_length(N_EMBD)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(0)  # all F32
    writer.add_tokenizer_model(_field(vocab, "tokenizer.ggml.model"))
    writer.add_tokenizer_pre(_field(vocab, "tokenizer.ggml.pre"))
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(token_types)
    writer.add_bos_token_id(_field(vocab, "tokenizer.ggml.bos_token_id"))
    writer.add_eos_token_id(_field(vocab, "tokenizer.ggml.eos_token_id"))
    writer.add_unk_token_id(_field(vocab, "tokenizer.ggml.unknown_token_id"))
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)

    rng = np.random.default_rng(SEED)

    def rand(*shape: int, std: float = 0.02) -> Any:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    # numpy shapes are (rows, cols) = ggml's ne reversed: token_embd is ne {n_embd, n_vocab}
    writer.add_tensor("token_embd.weight", rand(n_vocab, N_EMBD, std=1.0))
    for i in range(N_LAYER):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"blk.{i}.{name}.weight", rand(N_EMBD, N_EMBD))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", rand(N_FF, N_EMBD))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", rand(N_FF, N_EMBD))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", rand(N_EMBD, N_FF))
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    output = rand(n_vocab, N_EMBD, std=0.5)
    output[[i for i, t in enumerate(token_types) if t == CONTROL]] = 0.0
    writer.add_tensor("output.weight", output)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, {n_vocab} tokens)")


if __name__ == "__main__":
    main()
