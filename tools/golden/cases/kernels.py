"""Golden cases for @cnn/kernels' ops on their own: a probe network for fake quantisation
(torch.fake_quantize_per_tensor_affine), which int8 calibration and quantisation-aware training use.
Keep in step with packages/kernels/src/fake-quantize.test.ts (FAKE_QUANTIZE_PROBE)."""
import torch
import torch.nn as nn


class FakeQuantize(nn.Module):
    """torch.fake_quantize_per_tensor_affine as a module, so a tap can hook its output."""

    def __init__(self, scale, zero_point, quant_min, quant_max):
        super().__init__()
        self.args = (scale, zero_point, quant_min, quant_max)

    def forward(self, x):
        return torch.fake_quantize_per_tensor_affine(x, *self.args)


class FakeQuantizeProbe(nn.Module):
    """The input fake-quantised four ways: uint8 with a zero point (clamps below -0.15), int8 at a
    scale that is not a power of two (x * (1 / scale) in float32, as torch computes it), a narrow
    range that clamps most values, and a grid of 1/128 re-quantised to 1/64 (every odd multiple a
    tie, rounded half to even); logits = fc(mean over pixels of their sum)."""

    def __init__(self):
        super().__init__()
        self.uint8 = FakeQuantize(0.05, 3, 0, 255)
        self.int8 = FakeQuantize(0.0371, -5, -128, 127)
        self.narrow = FakeQuantize(0.1, 0, -7, 7)
        self.fine = FakeQuantize(1 / 128, 0, -1024, 1023)
        self.ties = FakeQuantize(1 / 64, 0, -1024, 1023)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(3, 10)

    def forward(self, x):
        y = self.uint8(x) + self.int8(x) + self.narrow(x) + self.ties(self.fine(x))
        return self.fc(self.pool(y).flatten(1))


PROBE_TAPS = {name: name for name in ('uint8', 'int8', 'narrow', 'fine', 'ties')}

CASES = {
    'fake_quantize_probe': ('kernels', 'fake_quantize_probe', FakeQuantizeProbe, [1, 3, 8, 8], PROBE_TAPS, set()),
}
