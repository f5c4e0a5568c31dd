"""Golden cases for @cnn/convnext: every variant at 224x224 (wasm) and at 64x64 (the js
reference backend; 32x32 for convnext_large, whose 198M weights dominate the js run)."""
import torchvision

TAPS = {'stage1': 'features.1', 'stage2': 'features.3', 'stage3': 'features.5', 'stage4': 'features.7'}


def tv(name):
    return lambda: getattr(torchvision.models, name)(weights=None)


CASES = {}
for v, small in (('tiny', 64), ('small', 64), ('base', 64), ('large', 32)):
    name = f'convnext_{v}'
    CASES[f'{name}_224'] = ('convnext', name, tv(name), [1, 3, 224, 224], TAPS, set())
    CASES[f'{name}_{small}'] = ('convnext', name, tv(name), [1, 3, small, small], TAPS, set())

EXPECTED_PARAMS = {
    'convnext_tiny': 28_589_128,
    'convnext_small': 50_223_688,
    'convnext_base': 88_591_464,
    'convnext_large': 197_767_336,
}
