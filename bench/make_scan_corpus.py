"""Write the scanner benchmark corpus: real benign artifacts and malicious samples built by
construction (the same tricks as tests/scan/corpus.py). Run with the project's own Python."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import joblib
import numpy as np
import torch
from safetensors.torch import save_file
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier

from tests.scan import corpus


def main(out: Path) -> None:
    benign, evil = out / "benign", out / "malicious"
    benign.mkdir(parents=True, exist_ok=True)
    evil.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    big = torch.nn.Sequential(*[torch.nn.Linear(1024, 1024) for _ in range(12)])  # ~50 MB of weights
    torch.save(big.state_dict(), benign / "mlp_state_dict.pt")
    torch.save(big.state_dict(), benign / "mlp_legacy.pt", _use_new_zipfile_serialization=False)
    save_file(big.state_dict(), benign / "mlp.safetensors")
    # A checkpoint of many small tensors: opcode-heavy, the case that stresses a pickle scanner.
    torch.save({f"block{i}.weight": torch.randn(8, 8) for i in range(3000)}, benign / "many_tensors.pt")
    X, y = load_digits(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y)
    import pickle
    with open(benign / "forest.pkl", "wb") as fh:
        pickle.dump(forest, fh, protocol=4)
    joblib.dump(forest, benign / "forest.joblib")
    joblib.dump(forest, benign / "forest_zlib.joblib", compress=3)
    np.save(benign / "embeddings.npy", np.random.default_rng(0).standard_normal((2000, 512)))

    payload = corpus.reduce_pickle(os.system, "id")
    (evil / "reduce_os_system.pkl").write_bytes(payload)
    (evil / "renamed_pickle.txt").write_bytes(payload)
    for name, data in corpus.HAND_WRITTEN.items():
        (evil / f"{name}.pkl").write_bytes(data)
    (evil / "nested_pickle_loads.pkl").write_bytes(corpus.nested_pickle())
    (evil / "second_pickle.pkl").write_bytes(corpus.second_pickle_malicious())
    (evil / "truncated_after_payload.pkl").write_bytes(corpus.truncated_after_payload())
    (evil / "torch_zip_payload.pt").write_bytes(
        corpus.zip_bytes({"archive/data.pkl": payload, "archive/version": b"3\n"}))
    (evil / "torch_zip_bad_crc.pt").write_bytes(
        corpus.break_crc(corpus.zip_bytes({"archive/data.pkl": payload}), "archive/data.pkl"))
    (evil / "zlib_joblib_payload.joblib").write_bytes(corpus.zlib_bytes(payload))
    (evil / "nested_tar_gz.tar.gz").write_bytes(
        corpus.gzip_bytes(corpus.tar_bytes({"m/model.zip": corpus.zip_bytes({"w.bin": payload})})))
    (evil / "npy_object_payload.npy").write_bytes(corpus.npy_object_array(payload))
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
