#!/usr/bin/python3
"""Write the digits held-out set and a calibration set for tests/quant/accuracy.c.

Run with Debian's interpreter (it has python3-sklearn and numpy):

    cd examples/digits && /usr/bin/python3 heldout.py

Uses exactly train.py's data and split (its to_pixels and the same train_test_split call), so
the held-out set is the one train.py reports 442/450 on. Writes into tests/data/digits/:
  heldout_x.npy   float32 [450, 1, 8, 8], raw 8-bit pixels 0..255, in split order
  heldout_y.npy   int64 [450], the labels
  calib/NN.npy    32 training digits (the first 32 of the training split, NN = 00..31), each
                  float32 [1, 1, 8, 8] raw 0..255: the calibration data set (one file per sample,
                  the shape of the model input, as synap-calib wants)
Deterministic: no randomness beyond the fixed split.
"""

import os
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from train import to_pixels  # noqa: E402  (train.py's pixel rule; importing it trains nothing)

N_CALIB = 32
OUT = os.path.join(HERE, "..", "..", "tests", "data", "digits")


def split():
    """train.py's split, verbatim."""
    digits = load_digits()
    labels = digits.target.astype(np.int64)
    pixels = to_pixels(digits.images)  # [n, 8, 8] uint8
    idx = np.arange(len(labels))
    train_idx, test_idx = train_test_split(idx, test_size=0.25, random_state=0, stratify=labels)
    return pixels, labels, train_idx, test_idx


def main():
    pixels, labels, train_idx, test_idx = split()
    os.makedirs(os.path.join(OUT, "calib"), exist_ok=True)
    x = pixels[test_idx].astype(np.float32).reshape(-1, 1, 8, 8)
    np.save(os.path.join(OUT, "heldout_x.npy"), x)
    np.save(os.path.join(OUT, "heldout_y.npy"), labels[test_idx])
    for k, i in enumerate(train_idx[:N_CALIB]):
        np.save(os.path.join(OUT, "calib", f"{k:02d}.npy"),
                pixels[i].astype(np.float32).reshape(1, 1, 8, 8))
    print(f"held-out: {len(test_idx)} digits, calibration: {N_CALIB} training digits -> "
          f"{os.path.normpath(OUT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
