#!/usr/bin/python3
"""Train the small digits CNN and write every file of examples/digits/.

Run with Debian's interpreter (it has python3-torch, python3-sklearn, python3-onnx):

    cd examples/digits && /usr/bin/python3 train.py

Writes, next to this script:
  digits.onnx        ONNX opset 13, input "input" float32 [1,1,8,8] raw 0..255, output "logits" [1,10]
  digits.pt          the same network as TorchScript (torch.jit.trace + torch.jit.save)
  images/            12 held-out digits as <index>_<label>.png (8x8 gray, 8 bit) and .npy
                     (float32 [1,1,8,8], raw 0..255), plus labels.txt ("<file> <label>")
  reference.json     torch logits and predicted class for those 12, and held-out accuracy

Everything is deterministic: fixed seeds, one thread, deterministic torch algorithms, a fixed
stratified split; running it twice on the same machine gives the same bytes.
"""

import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 0
EPOCHS = 40
BATCH = 32
LR = 2e-3
N_IMAGES = 12

HERE = os.path.dirname(os.path.abspath(__file__))


class DigitsNet(nn.Module):
    """Conv-BN-ReLU, Conv-ReLU, MaxPool, Conv-ReLU, Linear: small enough for any NPU, deep
    enough to exercise the ops real vision models use."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(32, 32, 3)
        self.fc = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x):
        # The model takes raw 8-bit pixel values so users can feed an image as is; the
        # scaling is the first op of the graph rather than a preprocessing convention.
        x = x * (1.0 / 255.0)
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.conv2(x))
        x = self.pool(x)
        x = torch.relu(self.conv3(x))
        x = torch.flatten(x, 1)
        return self.fc(x)


def to_pixels(v):
    """Digits values are 0..16; the 8-bit pixel is round(v * 255 / 16)."""
    return np.round(v * 255.0 / 16.0).astype(np.uint8)


def write_png_gray8(path, img):
    """Minimal PNG writer (gray, 8 bit, no ancillary chunks) so the bytes depend only on the
    pixels, not on an imaging library's version or metadata defaults."""
    h, w = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))  # filter type 0 per row

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) +
           chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


def pick_images(test_idx, labels):
    """First held-out sample of each class 0..9, then the next held-out samples in split order
    until there are N_IMAGES: deterministic and covers every class."""
    chosen = []
    for c in range(10):
        chosen.append(next(i for i in test_idx if labels[i] == c))
    for i in test_idx:
        if len(chosen) == N_IMAGES:
            break
        if i not in chosen:
            chosen.append(i)
    return chosen


def accuracy(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def main():
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    digits = load_digits()
    labels = digits.target.astype(np.int64)
    pixels = to_pixels(digits.images)  # [n, 8, 8] uint8
    idx = np.arange(len(labels))
    train_idx, test_idx = train_test_split(idx, test_size=0.25, random_state=0, stratify=labels)

    def tensors(ix):
        x = torch.from_numpy(pixels[ix].astype(np.float32)).unsqueeze(1)  # NCHW, raw 0..255
        return x, torch.from_numpy(labels[ix])

    xtr, ytr = tensors(train_idx)
    xte, yte = tensors(test_idx)

    model = DigitsNet()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        total = 0.0
        for b in range(0, len(perm), BATCH):
            j = perm[b:b + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(xtr[j]), ytr[j])
            loss.backward()
            opt.step()
            total += float(loss) * len(j)
        sched.step()
        if epoch % 10 == 9 or epoch == EPOCHS - 1:
            model.eval()
            print(f"epoch {epoch + 1:3d}  loss {total / len(ytr):.4f}  held-out acc "
                  f"{accuracy(model, xte, yte):.4f}", flush=True)

    model.eval()
    acc = accuracy(model, xte, yte)

    example = torch.zeros(1, 1, 8, 8)
    onnx_path = os.path.join(HERE, "digits.onnx")
    torch.onnx.export(model, example, onnx_path, opset_version=13, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True)
    import onnx  # imported late: only the export check needs it

    onnx.checker.check_model(onnx.load(onnx_path))
    traced = torch.jit.trace(model, example)
    torch.jit.save(traced, os.path.join(HERE, "digits.pt"))

    img_dir = os.path.join(HERE, "images")
    os.makedirs(img_dir, exist_ok=True)
    refs = []
    lines = []
    for i in pick_images(list(test_idx), labels):
        name = f"{i}_{labels[i]}"
        write_png_gray8(os.path.join(img_dir, name + ".png"), pixels[i])
        x = pixels[i].astype(np.float32).reshape(1, 1, 8, 8)
        np.save(os.path.join(img_dir, name + ".npy"), x)
        with torch.no_grad():
            logits = model(torch.from_numpy(x))[0].numpy()
        lines.append(f"{name}.png {labels[i]}\n")
        refs.append({
            "file": name + ".png",
            "npy": name + ".npy",
            "dataset_index": int(i),
            "label": int(labels[i]),
            "predicted": int(np.argmax(logits)),
            "logits": [round(float(v), 6) for v in logits],
        })
    with open(os.path.join(img_dir, "labels.txt"), "w") as f:
        f.writelines(lines)

    ref = {
        "model": "digits.onnx",
        "input": {"name": "input", "shape": [1, 1, 8, 8], "dtype": "float32",
                  "range": "raw 8-bit pixels 0..255 (pixel = round(v * 255 / 16))"},
        "output": {"name": "logits", "shape": [1, 10]},
        "engine": f"torch {torch.__version__} (float32, eval mode)",
        "heldout": {"size": int(len(test_idx)), "split": "sklearn train_test_split(test_size=0.25, "
                    "random_state=0, stratify=labels)", "accuracy": round(acc, 6)},
        "images": refs,
    }
    # One image per line keeps the file short and its diffs readable.
    body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in ref.items() if k != "images")
    images = ",\n".join(f"  {json.dumps(r)}" for r in refs)
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        f.write("{\n" + body + ',\n "images": [\n' + images + "\n ]\n}\n")

    print(f"held-out accuracy: {acc:.4f} ({int(round(acc * len(test_idx)))}/{len(test_idx)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
