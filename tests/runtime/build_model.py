"""Build a tiny model directory offline for Dynamo's mocker engine.

Usage: python3 build_model.py OUT_DIR

The mocker needs no weights, only what a Hugging Face model directory says about
tokenization: `tokenizer.json`, a `tokenizer_config.json` with a `chat_template`
(without one the frontend never lists the model) and a llama-type `config.json`.
Everything here is made from a few sentences with the `tokenizers` library, so
no model hub is contacted.

The mocker emits token ids in roughly [1000, 2000), so the vocabulary is padded
with added tokens up to VOCAB_SIZE; otherwise those ids decode to nothing and
completions come back empty. It stays near 2,000 on purpose: tens of thousands
of added tokens make the frontend's model load take seconds.
"""

import json
import os
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

VOCAB_SIZE = 2048
SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"]
CORPUS = [
    "Dynamo serves large language models across many workers.",
    "The frontend routes each request to a worker that holds the model.",
    "Prefill workers read the prompt; decode workers write the answer.",
    "A graph deployment describes the frontend, the workers and their replicas.",
    "Hello, world! How are you today? I am fine, thank you.",
    "The quick brown fox jumps over the lazy dog 0123456789 times.",
]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ message['role'] }}: {{ message['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
)


def build(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    # Pad with plain added tokens so every id the mocker may emit decodes to text.
    have = tok.get_vocab_size(with_added_tokens=True)
    tok.add_tokens([f" tok{i}" for i in range(VOCAB_SIZE - have)])
    if tok.get_vocab_size(with_added_tokens=True) != VOCAB_SIZE:
        sys.exit("tokenizer vocabulary did not reach the intended size")
    tok.save(os.path.join(out, "tokenizer.json"))

    bos, eos = (tok.token_to_id(t) for t in SPECIAL[:2])
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": VOCAB_SIZE,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-5,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "torch_dtype": "bfloat16",
    }
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": SPECIAL[0],
        "eos_token": SPECIAL[1],
        "pad_token": SPECIAL[2],
        "model_max_length": 4096,
        "chat_template": CHAT_TEMPLATE,
    }
    for name, body in (
        ("config.json", config),
        ("tokenizer_config.json", tokenizer_config),
        ("generation_config.json", {"bos_token_id": bos, "eos_token_id": eos}),
    ):
        with open(os.path.join(out, name), "w") as f:
            json.dump(body, f, indent=2, sort_keys=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_model.py OUT_DIR")
    build(sys.argv[1])
