"""Golden cases for @cnn/alexnet: torchvision's AlexNet, the 2012 form with local response
normalisation, and a tiny probe network for the LRN op alone."""
from collections import OrderedDict

import torch.nn as nn
import torchvision

# The paper's LRN constants (Krizhevsky et al. 2012, section 3.3): n = 5, k = 2, alpha = 1e-4,
# beta = 0.75, in b = a / (k + alpha * sum a^2)^beta. torch.nn.LocalResponseNorm divides alpha by
# the window size, so the paper's alpha is passed as alpha * size. Keep in step with
# packages/alexnet/src/alexnet.ts (PAPER_LRN).
PAPER_LRN = dict(size=5, alpha=5 * 1e-4, beta=0.75, k=2.0)


class AlexNet2012(torchvision.models.AlexNet):
    """torchvision's AlexNet with LRN after the ReLUs of conv1 and conv2 (before their max pools),
    as in the paper. The LRN modules are named features.lrn1 / features.lrn2, so every layer with
    parameters keeps torchvision's key (features.0/3/6/8/10, classifier.1/4/6)."""

    def __init__(self):
        super().__init__()
        old = list(self.features.children())
        names = ['0', '1', 'lrn1', '2', '3', '4', 'lrn2', '5', '6', '7', '8', '9', '10', '11', '12']
        layers, it = [], iter(old)
        for name in names:
            layers.append((name, nn.LocalResponseNorm(**PAPER_LRN) if name.startswith('lrn') else next(it)))
        self.features = nn.Sequential(OrderedDict(layers))


class LrnProbe(nn.Module):
    """conv -> LRN(5, alpha 1, beta 0.75, k 1) -> LRN(4, alpha 2, beta 0.5, k 0.5) -> pool -> fc.
    Large alpha so the normaliser's sum matters; an even window checks the asymmetric edges."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, kernel_size=3, padding=1)
        self.lrn_a = nn.LocalResponseNorm(5, alpha=1.0, beta=0.75, k=1.0)
        self.lrn_b = nn.LocalResponseNorm(4, alpha=2.0, beta=0.5, k=0.5)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(12, 10)

    def forward(self, x):
        x = self.lrn_b(self.lrn_a(self.conv(x)))
        return self.fc(self.pool(x).flatten(1))


def alexnet():
    return torchvision.models.alexnet(weights=None)


TAPS = {'conv1': 'features.1', 'conv2': 'features.4', 'conv3': 'features.7', 'conv4': 'features.9',
        'conv5': 'features.11', 'fc6': 'classifier.2', 'fc7': 'classifier.5'}
TAPS_2012 = {**TAPS, 'norm1': 'features.lrn1', 'norm2': 'features.lrn2'}

CASES = {
    'alexnet_64': ('alexnet', 'alexnet', alexnet, [1, 3, 64, 64], TAPS, set()),
    'alexnet_224': ('alexnet', 'alexnet', alexnet, [1, 3, 224, 224], TAPS, set()),
    'alexnet2012_64': ('alexnet', 'alexnet2012', AlexNet2012, [1, 3, 64, 64], TAPS_2012, set()),
    'alexnet2012_224': ('alexnet', 'alexnet2012', AlexNet2012, [1, 3, 224, 224], TAPS_2012, set()),
    'lrn_probe': ('alexnet', 'lrn_probe', LrnProbe, [1, 3, 8, 8], {'lrn_a': 'lrn_a', 'lrn_b': 'lrn_b'}, set()),
}

EXPECTED_PARAMS = {'alexnet': 61_100_840, 'alexnet2012': 61_100_840}
