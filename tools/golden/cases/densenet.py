"""Golden cases for @cnn/densenet: torchvision's DenseNet-121/161/169/201 at 224 and 64.
Taps: denseblock1-4 (each block's concatenated output) and `features` (norm5 then ReLU; torchvision
applies that ReLU functionally, so the constructor adds an nn.ReLU module, no parameters, to hook)."""
import types

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def _forward(self, x):
    out = self.relu5(self.features(x))
    out = torch.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1)
    return self.classifier(out)


def tv(name):
    def build():
        model = getattr(torchvision.models, name)(weights=None)
        model.relu5 = nn.ReLU()
        model.forward = types.MethodType(_forward, model)
        return model
    return build


TAPS = {**{f'denseblock{i}': f'features.denseblock{i}' for i in range(1, 5)}, 'features': 'relu5'}

# the taps named by reduction, checked against the modules they alias on densenet121_64
STRIDE_TAPS = {'stride2': 'features.relu0', 'stride4': 'features.denseblock1', 'stride8': 'features.denseblock2',
               'stride16': 'features.denseblock3', 'stride32': 'relu5'}

CASES = {}
for name in ('densenet121', 'densenet161', 'densenet169', 'densenet201'):
    CASES[f'{name}_64'] = ('densenet', name, tv(name), [1, 3, 64, 64], {**TAPS, **STRIDE_TAPS} if name == 'densenet121' else TAPS, set())
    CASES[f'{name}_224'] = ('densenet', name, tv(name), [1, 3, 224, 224], TAPS, set())

EXPECTED_PARAMS = {'densenet121': 7_978_856, 'densenet161': 28_681_000, 'densenet169': 14_149_480,
                   'densenet201': 20_013_928}
