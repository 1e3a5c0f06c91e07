"""Write the tiny scikit-learn model that the MLServer fixture serves.

Why iris + LogisticRegression: the data set ships inside scikit-learn (no download), the model
trains in milliseconds and is deterministic, and a 4-feature FP32 input makes an easy KServe v2
request body (and an easy wrong-shape one). Runs with the MLServer venv's Python (it has
scikit-learn and joblib through mlserver-sklearn), never with slocheck's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import joblib  # type: ignore[import-not-found,unused-ignore]
from sklearn.datasets import load_iris  # type: ignore[import-not-found,unused-ignore]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-not-found,unused-ignore]

MODEL_NAME = "iris"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="model directory to write")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    features, labels = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(features, labels)
    joblib.dump(model, out / "model.joblib")
    settings = {
        "name": MODEL_NAME,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"},
    }
    (out / "model-settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    print(f"wrote {out / 'model.joblib'} and model-settings.json (model {MODEL_NAME!r})")


if __name__ == "__main__":
    main()
