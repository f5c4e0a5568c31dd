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
    'googlenet_64': ('inception', 'googlenet', googlenet(), [1, 3, 64, 64], GOOGLENET_TAPS, set()),
    'googlenet_notransform_64': ('inception', 'googlenet', googlenet(transform_input=False),
                                 [1, 3, 64, 64], GOOGLENET_TAPS, set()),
    'googlenet_aux_64': ('inception', 'googlenet_aux', googlenet(aux=True), [1, 3, 64, 64],
                         GOOGLENET_AUX_TAPS, set()),
    'inception_v3_299': ('inception', 'inception_v3', inception_v3(), [1, 3, 299, 299],
                         INCEPTION_V3_TAPS, set()),
    'inception_v3_75': ('inception', 'inception_v3', inception_v3(), [1, 3, 75, 75],
                        INCEPTION_V3_TAPS, set()),
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
