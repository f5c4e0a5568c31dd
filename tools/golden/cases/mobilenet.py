"""Golden cases for @cnn/mobilenet: MobileNet v2 and v3 from torchvision 0.14, and MobileNet v1
(Howard et al. 2017), which torchvision lacks, defined here with the same parameter names as
packages/mobilenet/src/mobilenet-v1.ts.
"""

from functools import partial

import torch
import torch.nn as nn
import torchvision


def v1_depth(channels, alpha):
    """The width multiplier as TF-slim's mobilenet_v1 applies it: floor(c * alpha), at least 8."""
    return max(int(channels * alpha), 8)


def conv_bn_relu(cin, cout, kernel, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class DepthwiseSeparable(nn.Module):
    """3x3 depthwise conv + BN + ReLU, then 1x1 pointwise conv + BN + ReLU (paper figure 3)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.depthwise = conv_bn_relu(cin, cin, 3, stride, groups=cin)
        self.pointwise = conv_bn_relu(cin, cout, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


# paper Table 1: (output channels, stride) of the 13 depthwise separable layers
V1_LAYERS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
             (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]


class MobileNetV1(nn.Module):
    def __init__(self, alpha=1.0, num_classes=1000):
        super().__init__()
        cin = v1_depth(32, alpha)
        layers = [conv_bn_relu(3, cin, 3, 2)]
        for c, s in V1_LAYERS:
            cout = v1_depth(c, alpha)
            layers.append(DepthwiseSeparable(cin, cout, s))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def tv(name, **kwargs):
    return lambda: getattr(torchvision.models, name)(weights=None, **kwargs)


# the last module at each output stride (features.N indices)
V1_TAPS = {'stride2': 'features.1', 'stride4': 'features.3', 'stride8': 'features.5',
           'stride16': 'features.11', 'stride32': 'features.13'}
V2_TAPS = {'stride2': 'features.1', 'stride4': 'features.3', 'stride8': 'features.6',
           'stride16': 'features.13', 'stride32': 'features.18'}
V3_LARGE_TAPS = {'stride2': 'features.1', 'stride4': 'features.3', 'stride8': 'features.6',
                 'stride16': 'features.12', 'stride32': 'features.16'}
V3_SMALL_TAPS = {'stride2': 'features.0', 'stride4': 'features.1', 'stride8': 'features.3',
                 'stride16': 'features.8', 'stride32': 'features.12'}

P = 'mobilenet'
CASES = {
    'mobilenet_v1_224': (P, 'mobilenet_v1', MobileNetV1, [1, 3, 224, 224], V1_TAPS, set()),
    'mobilenet_v1_075_192': (P, 'mobilenet_v1_075', partial(MobileNetV1, 0.75), [1, 3, 192, 192],
                             V1_TAPS, set()),
    'mobilenet_v1_025_128': (P, 'mobilenet_v1_025', partial(MobileNetV1, 0.25), [1, 3, 128, 128],
                             V1_TAPS, set()),
    'mobilenet_v2_224': (P, 'mobilenet_v2', tv('mobilenet_v2'), [1, 3, 224, 224], V2_TAPS, set()),
    'mobilenet_v2_96x128': (P, 'mobilenet_v2', tv('mobilenet_v2'), [1, 3, 96, 128], V2_TAPS, set()),
    'mobilenet_v2_050_224': (P, 'mobilenet_v2_050', tv('mobilenet_v2', width_mult=0.5),
                             [1, 3, 224, 224], V2_TAPS, set()),
    'mobilenet_v2_075_64': (P, 'mobilenet_v2_075', tv('mobilenet_v2', width_mult=0.75),
                            [1, 3, 64, 64], V2_TAPS, set()),
    'mobilenet_v3_large_224': (P, 'mobilenet_v3_large', tv('mobilenet_v3_large'), [1, 3, 224, 224],
                               V3_LARGE_TAPS, set()),
    'mobilenet_v3_large_batch2_64': (P, 'mobilenet_v3_large', tv('mobilenet_v3_large'),
                                     [2, 3, 64, 64], V3_LARGE_TAPS, set()),
    'mobilenet_v3_large_075_96': (P, 'mobilenet_v3_large_075', tv('mobilenet_v3_large', width_mult=0.75),
                                  [1, 3, 96, 96], V3_LARGE_TAPS, set()),
    'mobilenet_v3_small_224': (P, 'mobilenet_v3_small', tv('mobilenet_v3_small'), [1, 3, 224, 224],
                               V3_SMALL_TAPS, set()),
    'mobilenet_v3_small_97x65': (P, 'mobilenet_v3_small', tv('mobilenet_v3_small'), [1, 3, 97, 65],
                                 V3_SMALL_TAPS, set()),
}

EXPECTED_PARAMS = {
    'mobilenet_v2': 3_504_872,
    'mobilenet_v3_small': 2_542_856,
    'mobilenet_v3_large': 5_483_032,
}
