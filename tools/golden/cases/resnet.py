"""ResNet cases beyond the foundation set in make_fixtures.py: every variant at its native
224x224, plus reduced 64x64 inputs for the deeper ResNeXt / Wide ResNet variants."""
import torchvision


def tv(name):
    return lambda: getattr(torchvision.models, name)(weights=None)


TAPS = {'layer1': 'layer1', 'layer2': 'layer2', 'layer3': 'layer3', 'layer4': 'layer4'}

CASES = {}
for name in ['resnet34', 'resnet101', 'resnet152', 'resnext50_32x4d', 'resnext101_32x8d',
             'resnext101_64x4d', 'wide_resnet50_2', 'wide_resnet101_2']:
    CASES[f'{name}_224'] = ('resnet', name, tv(name), [1, 3, 224, 224], TAPS, set())
for name in ['resnext101_32x8d', 'resnext101_64x4d', 'wide_resnet101_2']:
    CASES[f'{name}_64'] = ('resnet', name, tv(name), [1, 3, 64, 64], TAPS, set())

EXPECTED_PARAMS = {
    'resnet34': 21_797_672,
    'resnet101': 44_549_160,
    'resnext50_32x4d': 25_028_904,
    'resnext101_32x8d': 88_791_336,
    'resnext101_64x4d': 83_455_272,
    'wide_resnet50_2': 68_883_240,
    'wide_resnet101_2': 126_886_696,
}
