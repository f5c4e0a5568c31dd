"""Golden cases for @cnn/alexnet: torchvision's AlexNet, torchvision's AlexNet with the paper's local
response normalisation, the 2012 paper's network, and a tiny probe network for the LRN op alone."""
from collections import OrderedDict

import torch.nn as nn
import torchvision

# The paper's LRN constants (Krizhevsky et al. 2012, section 3.3): n = 5, k = 2, alpha = 1e-4,
# beta = 0.75, in b = a / (k + alpha * sum a^2)^beta. torch.nn.LocalResponseNorm divides alpha by
# the window size, so the paper's alpha is passed as alpha * size. Keep in step with
# packages/alexnet/src/alexnet.ts (PAPER_LRN).
PAPER_LRN = dict(size=5, alpha=5 * 1e-4, beta=0.75, k=2.0)


FEATURE_NAMES = ['0', '1', 'lrn1', '2', '3', '4', 'lrn2', '5', '6', '7', '8', '9', '10', '11', '12']


class AlexNetLrn(torchvision.models.AlexNet):
    """torchvision's AlexNet with LRN after the ReLUs of conv1 and conv2 (before their max pools),
    as in the paper. The LRN modules are named features.lrn1 / features.lrn2, so every layer with
    parameters keeps torchvision's key (features.0/3/6/8/10, classifier.1/4/6)."""

    def __init__(self):
        super().__init__()
        layers, it = [], iter(list(self.features.children()))
        for name in FEATURE_NAMES:
            layers.append((name, nn.LocalResponseNorm(**PAPER_LRN) if name.startswith('lrn') else next(it)))
        self.features = nn.Sequential(OrderedDict(layers))


class AlexNet2012(torchvision.models.AlexNet):
    """The 2012 paper's network (section 3.5, figure 2): 96 filters of 11x11x3 with stride 4 first,
    then 256 (5x5), 384, 384, 256 (3x3); the two-GPU split is groups=2 on conv2, conv4 and conv5
    (conv3 and the fully connected layers see both GPUs' maps); LRN after the ReLUs of conv1 and
    conv2; overlapping 3x3/2 max pools. Padding 2 on conv1 maps the 224 input to 55x55 as the
    paper's figure shows. Keys are torchvision's (LRN modules named lrn1/lrn2); 60,965,224
    parameters, conv1 34,944."""

    def __init__(self):
        super().__init__()
        pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2)
        relu = lambda: nn.ReLU(inplace=True)
        lrn = lambda: nn.LocalResponseNorm(**PAPER_LRN)
        layers = [nn.Conv2d(3, 96, 11, stride=4, padding=2), relu(), lrn(), pool(),
                  nn.Conv2d(96, 256, 5, padding=2, groups=2), relu(), lrn(), pool(),
                  nn.Conv2d(256, 384, 3, padding=1), relu(),
                  nn.Conv2d(384, 384, 3, padding=1, groups=2), relu(),
                  nn.Conv2d(384, 256, 3, padding=1, groups=2), relu(), pool()]
        self.features = nn.Sequential(OrderedDict(zip(FEATURE_NAMES, layers)))


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
TAPS_LRN = {**TAPS, 'norm1': 'features.lrn1', 'norm2': 'features.lrn2'}
# the stride taps alias these modules (packages/alexnet/src/alexnet.ts, ALEXNET_STRIDE_TAPS)
TAPS_2012 = {**TAPS_LRN, 'stride4': 'features.lrn1', 'stride8': 'features.lrn2', 'stride16': 'features.11',
             'stride32': 'features.12'}

CASES = {
    # the taps named by reduction, checked against the modules they alias
    'alexnet_64': ('alexnet', 'alexnet', alexnet, [1, 3, 64, 64],
                   {**TAPS, 'stride4': 'features.1', 'stride8': 'features.4', 'stride16': 'features.11', 'stride32': 'features.12'},
                   set()),
    'alexnet_224': ('alexnet', 'alexnet', alexnet, [1, 3, 224, 224], TAPS, set()),
    'alexnet_lrn_64': ('alexnet', 'alexnet_lrn', AlexNetLrn, [1, 3, 64, 64], TAPS_LRN, set()),
    'alexnet_lrn_224': ('alexnet', 'alexnet_lrn', AlexNetLrn, [1, 3, 224, 224], TAPS_LRN, set()),
    'alexnet2012_64': ('alexnet', 'alexnet2012', AlexNet2012, [1, 3, 64, 64], TAPS_2012, set()),
    'alexnet2012_224': ('alexnet', 'alexnet2012', AlexNet2012, [1, 3, 224, 224], TAPS_2012, set()),
    'lrn_probe': ('alexnet', 'lrn_probe', LrnProbe, [1, 3, 8, 8], {'lrn_a': 'lrn_a', 'lrn_b': 'lrn_b'}, set()),
}

EXPECTED_PARAMS = {'alexnet': 61_100_840, 'alexnet_lrn': 61_100_840, 'alexnet2012': 60_965_224}
