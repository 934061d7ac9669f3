"""The bench's models in PyTorch (mirrors tools/bench/src/training/models.ts); prints one JSON line.

Usage: python3 torch_bench.py --workload mnist-cnn --train 2048 --infer 4096 --batch 32 --infer-batch 128 --threads 2 --passes 3 --mnist-dir DIR
"""
import argparse, json, os, struct, time
import torch
import torch.nn as nn

VOCAB, SEQ, TEXT_CLASSES, FEATURES, TAB_CLASSES = 2000, 48, 2, 32, 4


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 64)
        self.block = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.0, batch_first=True)
        self.out = nn.Linear(64, TEXT_CLASSES)

    def forward(self, x):
        return self.out(self.block(self.emb(x)).mean(1))


class Lstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 32)
        self.lstm = nn.LSTM(32, 64, batch_first=True)
        self.out = nn.Linear(64, TEXT_CLASSES)

    def forward(self, x):
        _, (h, _) = self.lstm(self.emb(x))
        return self.out(h[-1])


def model(kind):
    if kind == 'mnist-cnn':
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(64 * 5 * 5, 10))
    if kind == 'tabular-mlp':
        return nn.Sequential(nn.Linear(FEATURES, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, TAB_CLASSES))
    if kind == 'text-lstm':
        return Lstm()
    if kind == 'text-transformer':
        return Encoder()
    raise SystemExit(f'unknown workload {kind}')


def data(kind, n, mnist_dir):
    g = torch.Generator().manual_seed(42)
    if kind == 'mnist-cnn':
        with open(os.path.join(mnist_dir, 'train-images-idx3-ubyte'), 'rb') as f:
            f.read(16)
            x = torch.frombuffer(bytearray(f.read(n * 784)), dtype=torch.uint8).float().div(255).reshape(n, 1, 28, 28)
        with open(os.path.join(mnist_dir, 'train-labels-idx1-ubyte'), 'rb') as f:
            f.read(8)
            y = torch.frombuffer(bytearray(f.read(n)), dtype=torch.uint8).long()
        return x, y
    if kind == 'tabular-mlp':
        x = torch.rand(n, FEATURES, generator=g) * 2 - 1
        return x, (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    x = torch.randint(0, VOCAB, (n, SEQ), generator=g)
    return x, (x[:, 0] >= VOCAB // 2).long()


def main():
    p = argparse.ArgumentParser()
    for a in ('--workload', '--mnist-dir'):
        p.add_argument(a, required=True)
    for a in ('--train', '--infer', '--batch', '--infer-batch', '--threads', '--passes'):
        p.add_argument(a, type=int, required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = model(a.workload)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x, y = data(a.workload, max(a.train, a.infer, 2 * a.batch), a.mnist_dir)

    def step(i):
        opt.zero_grad()
        loss = loss_fn(m(x[i:i + a.batch]), y[i:i + a.batch])
        loss.backward()
        opt.step()
        return loss.item()  # reads the loss each step, as tfjs-layers' fit does

    # Warm-up: one untimed pass like the timed ones, as the tfjs side does.
    for i in range(0, a.train, a.batch):
        step(i)
    # --passes timed passes, as the tfjs side does.
    train_passes = []
    for _ in range(a.passes):
        t0 = time.perf_counter()
        for i in range(0, a.train, a.batch):
            step(i)
        train_passes.append(a.train / (time.perf_counter() - t0))
    m.eval()
    with torch.no_grad():
        m(x[:a.infer_batch])
        infer_passes = []
        for _ in range(a.passes):
            t0 = time.perf_counter()
            for i in range(0, a.infer, a.infer_batch):
                m(x[i:i + a.infer_batch])
            infer_passes.append(a.infer / (time.perf_counter() - t0))
    # Every pass is reported (trainPasses, inferPasses); the headline figure is the best, as on the tfjs side.
    print(json.dumps({'workload': a.workload, 'backend': 'torch', 'trainSamplesPerSec': max(train_passes),
                      'inferSamplesPerSec': max(infer_passes), 'trainPasses': train_passes, 'inferPasses': infer_passes,
                      'trainSamples': a.train, 'inferSamples': a.infer,
                      'batch': a.batch, 'inferBatch': a.infer_batch, 'threads': torch.get_num_threads(), 'passes': a.passes,
                      'torchVersion': torch.__version__}))


if __name__ == '__main__':
    main()
