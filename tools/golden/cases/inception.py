"""Golden cases for @cnn/inception: GoogLeNet and Inception v3 from torchvision 0.14.

torchvision only runs the auxiliary classifiers in training mode. The *_aux models below keep
torchvision's modules (so state_dict keys, and hence the counter weights, are unchanged) and add
forward hooks that also run the aux heads in eval mode, with dropout as the identity, so their
outputs can be captured as taps ('aux1'/'aux2', 'aux').
"""

import torchvision

GOOGLENET_TAPS = {'conv3': 'conv3', 'inception3b': 'inception3b', 'inception4e': 'inception4e',
                  'inception5b': 'inception5b'}
GOOGLENET_AUX_TAPS = {**GOOGLENET_TAPS, 'aux1': 'aux1', 'aux2': 'aux2'}
INCEPTION_V3_TAPS = {'Mixed_5d': 'Mixed_5d', 'Mixed_6e': 'Mixed_6e', 'Mixed_7c': 'Mixed_7c'}
INCEPTION_V3_AUX_TAPS = {**INCEPTION_V3_TAPS, 'aux': 'AuxLogits'}
# the taps named by reduction, checked against the modules they alias on one small case each
GOOGLENET_STRIDE_CHECK = {**GOOGLENET_TAPS, 'stride2': 'conv1', 'stride4': 'conv3', 'stride8': 'inception3b',
                          'stride16': 'inception4e', 'stride32': 'inception5b'}
INCEPTION_V3_STRIDE_CHECK = {**INCEPTION_V3_TAPS, 'stride2': 'Conv2d_2b_3x3', 'stride4': 'Conv2d_4a_3x3',
                             'stride8': 'Mixed_5d', 'stride16': 'Mixed_6e', 'stride32': 'Mixed_7c'}


def _run_after(module, head):
    """Calls head on module's output after every forward; the hook returns None so the output
    itself is unchanged."""
    def hook(_m, _inp, out):
        head(out)
    module.register_forward_hook(hook)


def googlenet(transform_input=True, aux=False):
    def ctor():
        model = torchvision.models.GoogLeNet(aux_logits=aux, transform_input=transform_input,
                                             init_weights=False)
        if aux:
            _run_after(model.inception4a, model.aux1)
            _run_after(model.inception4d, model.aux2)
        return model
    return ctor


def inception_v3(transform_input=True, aux=False):
    def ctor():
        model = torchvision.models.Inception3(aux_logits=aux, transform_input=transform_input,
                                              init_weights=False)
        if aux:
            _run_after(model.Mixed_6e, model.AuxLogits)
        return model
    return ctor


# transform_input=True is what torchvision's builders set when pretrained weights are used.
CASES = {
    'googlenet_224': ('inception', 'googlenet', googlenet(), [1, 3, 224, 224], GOOGLENET_TAPS, set()),
    'googlenet_64': ('inception', 'googlenet', googlenet(), [1, 3, 64, 64], GOOGLENET_STRIDE_CHECK, set()),
    'googlenet_notransform_64': ('inception', 'googlenet', googlenet(transform_input=False),
                                 [1, 3, 64, 64], GOOGLENET_TAPS, set()),
    'googlenet_aux_64': ('inception', 'googlenet_aux', googlenet(aux=True), [1, 3, 64, 64],
                         GOOGLENET_AUX_TAPS, set()),
    'inception_v3_299': ('inception', 'inception_v3', inception_v3(), [1, 3, 299, 299],
                         INCEPTION_V3_TAPS, set()),
    'inception_v3_75': ('inception', 'inception_v3', inception_v3(), [1, 3, 75, 75],
                        INCEPTION_V3_STRIDE_CHECK, set()),
    'inception_v3_notransform_75': ('inception', 'inception_v3', inception_v3(transform_input=False),
                                    [1, 3, 75, 75], INCEPTION_V3_TAPS, set()),
    # the aux head pools 5x5/3 then convolves 5x5 at Mixed_6e: it needs Mixed_6e >= 17x17,
    # which takes the full 299x299 input
    'inception_v3_aux_299': ('inception', 'inception_v3_aux', inception_v3(aux=True),
                             [1, 3, 299, 299], INCEPTION_V3_AUX_TAPS, set()),
}

# torchvision 0.14 counts: GoogLeNet_Weights' num_params (6,624,904) is the model as the builder
# returns it (aux heads dropped); Inception_V3_Weights' num_params (27,161,264) counts the
# AuxLogits head that the weights file carries (the returned model has 23,834,568).
EXPECTED_PARAMS = {
    'googlenet': 6_624_904,
    'googlenet_aux': 13_004_888,
    'inception_v3': 23_834_568,
    'inception_v3_aux': 27_161_264,
}


# GoogLeNet as the 2014 paper (Table 1) and its released Caffe definition build it, where
# torchvision departs: a true 5x5 branch, convolutions with biases and no batch norm, LRN after the
# first pool and after conv3, and 3x3/2 ceil-mode pools throughout (torchvision's fourth is 2x2).
# Keep in step with packages/inception/src/googlenet2014.ts.
import torch
import torch.nn as nn

LRN_2014 = dict(size=5, alpha=1e-4, beta=0.75, k=1.0)


class ConvRelu(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=True, **kw)

    def forward(self, x):
        return torch.relu(self.conv(x))


class Inception2014(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pool):
        super().__init__()
        self.branch1 = ConvRelu(cin, c1, kernel_size=1)
        self.branch2 = nn.Sequential(ConvRelu(cin, c3r, kernel_size=1), ConvRelu(c3r, c3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(ConvRelu(cin, c5r, kernel_size=1), ConvRelu(c5r, c5, kernel_size=5, padding=2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), ConvRelu(cin, pool, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet2014(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        pool = lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv1 = ConvRelu(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = pool()
        self.norm1 = nn.LocalResponseNorm(**LRN_2014)
        self.conv2 = ConvRelu(64, 64, kernel_size=1)
        self.conv3 = ConvRelu(64, 192, kernel_size=3, padding=1)
        self.norm2 = nn.LocalResponseNorm(**LRN_2014)
        self.maxpool2 = pool()
        self.inception3a = Inception2014(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception2014(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = pool()
        self.inception4a = Inception2014(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception2014(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception2014(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception2014(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception2014(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = pool()
        self.inception5a = Inception2014(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception2014(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.norm1(self.maxpool1(self.conv1(x)))
        x = self.maxpool2(self.norm2(self.conv3(self.conv2(x))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        for m in (self.inception4a, self.inception4b, self.inception4c, self.inception4d, self.inception4e):
            x = m(x)
        x = self.inception5b(self.inception5a(self.maxpool4(x)))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


GOOGLENET2014_TAPS = {'conv1': 'conv1', 'norm1': 'norm1', 'norm2': 'norm2', 'inception3b': 'inception3b',
                      'inception4e': 'inception4e', 'inception5b': 'inception5b',
                      # the stride taps alias these modules (GOOGLENET2014 in googlenet2014.ts)
                      'stride2': 'conv1', 'stride4': 'norm2', 'stride8': 'inception3b',
                      'stride16': 'inception4e', 'stride32': 'inception5b'}

CASES['googlenet2014_64'] = ('inception', 'googlenet2014', GoogLeNet2014, [1, 3, 64, 64], GOOGLENET2014_TAPS, {'size_ok'})
CASES['googlenet2014_224'] = ('inception', 'googlenet2014', GoogLeNet2014, [1, 3, 224, 224], GOOGLENET2014_TAPS, {'size_ok'})
EXPECTED_PARAMS['googlenet2014'] = 6_998_552
