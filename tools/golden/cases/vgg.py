"""Golden cases for @cnn/vgg: every torchvision VGG at 224 (wasm) and at a reduced size (js).
Taps follow the paper's names: convS_I after its ReLU, poolS after each max pool. A fixture holds
about ten taps (to stay under 40 kB), so the reduced case checks stages 1-3 and the 224 case
stages 4-5."""
import torchvision

CFGS = {
    'A': [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
    'B': [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
    'D': [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
    'E': [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
}
VARIANTS = {'vgg11': 'A', 'vgg13': 'B', 'vgg16': 'D', 'vgg19': 'E'}


def taps(cfg, batch_norm, stages):
    """tap name -> torchvision module path (features.N) for the given stages (1-based)."""
    out, index, stage, conv = {}, 0, 1, 0
    for v in CFGS[cfg]:
        if v == 'M':
            if stage in stages:
                out[f'pool{stage}'] = f'features.{index}'
            index, stage, conv = index + 1, stage + 1, 0
        else:
            conv += 1
            relu = index + (2 if batch_norm else 1)
            if stage in stages:
                out[f'conv{stage}_{conv}'] = f'features.{relu}'
            index = relu + 1
    return out


def tv(name):
    return lambda: getattr(torchvision.models, name)(weights=None)


CASES = {}
for base, cfg in VARIANTS.items():
    for bn in (False, True):
        name = base + ('_bn' if bn else '')
        small = 64 if base in ('vgg11', 'vgg13') else 32
        CASES[f'{name}_{small}'] = ('vgg', name, tv(name), [1, 3, small, small], taps(cfg, bn, {1, 2, 3}), set())
        CASES[f'{name}_224'] = ('vgg', name, tv(name), [1, 3, 224, 224], taps(cfg, bn, {4, 5}), set())

EXPECTED_PARAMS = {
    'vgg11': 132_863_336, 'vgg11_bn': 132_868_840, 'vgg13': 133_047_848, 'vgg13_bn': 133_053_736,
    'vgg16': 138_357_544, 'vgg16_bn': 138_365_992, 'vgg19': 143_667_240, 'vgg19_bn': 143_678_248,
}
