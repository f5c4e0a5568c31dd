"""Trains a network for a few steps in PyTorch from weights and batches @cnn/train wrote, and
prints the resulting weights, losses and schedule values as JSON (stdout). Used by
src/torch.test.ts; needs Debian's python3-torch only. Usage: torch_steps.py spec.json"""
import json
import sys

import torch
from torch import nn


class LeNet5(nn.Module):
    """The architecture of packages/lenet: tanh, average pooling, full C3, linear output."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, 10)

    def forward(self, x):
        x = nn.functional.avg_pool2d(torch.tanh(self.c1(x)), 2)
        x = nn.functional.avg_pool2d(torch.tanh(self.c3(x)), 2)
        x = torch.tanh(self.c5(x)).flatten(1)
        return self.output(torch.tanh(self.f6(x)))


class Block(nn.Module):
    """torchvision's BasicBlock with a projection shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.downsample(x))


class TinyResNet(nn.Module):
    """The tiny ResNet of src/torch.test.ts: stem, max pool, one block per stage, global pool, fc."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = nn.Sequential(Block(8, 12, 2))
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer1(x)
        return self.fc(nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))


def main():
    spec = json.load(open(sys.argv[1]))
    torch.manual_seed(0)
    torch.set_num_threads(1)
    net = {"lenet5": LeNet5, "tinyresnet": TinyResNet}[spec["model"]]()
    state = net.state_dict()
    for key, t in spec["weights"].items():
        state[key].copy_(torch.tensor(t["data"], dtype=torch.float32).reshape(t["shape"]))
    o = spec["optimizer"]
    if o["type"] == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=o["lr"], momentum=o["momentum"], nesterov=o["nesterov"], weight_decay=o["weightDecay"])
    else:
        opt = torch.optim.AdamW(net.parameters(), lr=o["lr"], weight_decay=o["weightDecay"])
    sched = None
    if spec.get("schedule") == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=o["lr"], total_steps=len(spec["batches"]))
    net.train()
    losses, lrs, momenta = [], [], []
    for b in spec["batches"]:
        group = opt.param_groups[0]
        lrs.append(group["lr"])
        momenta.append(group["betas"][0] if "betas" in group else group["momentum"])
        x = torch.tensor(b["x"], dtype=torch.float32).reshape(b["shape"])
        loss = nn.functional.cross_entropy(net(x), torch.tensor(b["labels"]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched:
            sched.step()
        losses.append(loss.item())
    out = {k: v.flatten().tolist() for k, v in net.state_dict().items() if v.dtype == torch.float32}
    json.dump({"weights": out, "losses": losses, "lrs": lrs, "momenta": momenta, "torch": torch.__version__}, sys.stdout)


main()
