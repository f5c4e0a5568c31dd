// The two residual blocks of He et al. (2016), named exactly as torchvision's modules so that
// parameter keys are its state_dict keys.
import type { GraphBuilder, Value } from '@cnn/core';

export interface BlockConfig {
  /** bottleneck width per group (torchvision's width_per_group, 64 for plain ResNets) */
  baseWidth: number;
  groups: number;
}

export interface Block {
  /** output channels = planes * expansion */
  readonly expansion: number;
  define(b: GraphBuilder, x: Value, name: string, planes: number, stride: number, config: BlockConfig): Value;
}

function conv3x3(b: GraphBuilder, x: Value, name: string, out: number, stride = 1, groups = 1): Value {
  return b.conv2d(x, name, { outChannels: out, kernelSize: 3, stride, padding: 1, groups, bias: false });
}

function conv1x1(b: GraphBuilder, x: Value, name: string, out: number, stride = 1): Value {
  return b.conv2d(x, name, { outChannels: out, kernelSize: 1, stride, bias: false });
}

/** The projection shortcut, used only when stride or width changes. */
function shortcut(b: GraphBuilder, x: Value, name: string, out: number, stride: number): Value {
  if (stride === 1 && x.shape[0] === out) return x;
  return b.batchNorm2d(conv1x1(b, x, `${name}.downsample.0`, out, stride), `${name}.downsample.1`);
}

/** Two 3x3 convolutions (ResNet-18/34). */
export const BasicBlock: Block = {
  expansion: 1,
  define(b, x, name, planes, stride) {
    let out = b.relu(b.batchNorm2d(conv3x3(b, x, `${name}.conv1`, planes, stride), `${name}.bn1`));
    out = b.batchNorm2d(conv3x3(b, out, `${name}.conv2`, planes * BasicBlock.expansion), `${name}.bn2`);
    return b.relu(b.add(out, shortcut(b, x, name, planes * BasicBlock.expansion, stride)));
  },
};

/** 1x1 reduce, 3x3 (grouped for ResNeXt), 1x1 expand by 4 (ResNet-50 and deeper). */
export const Bottleneck: Block = {
  expansion: 4,
  define(b, x, name, planes, stride, { baseWidth, groups }) {
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    let out = b.relu(b.batchNorm2d(conv1x1(b, x, `${name}.conv1`, width), `${name}.bn1`));
    out = b.relu(b.batchNorm2d(conv3x3(b, out, `${name}.conv2`, width, stride, groups), `${name}.bn2`));
    const outChannels = planes * Bottleneck.expansion;
    out = b.batchNorm2d(conv1x1(b, out, `${name}.conv3`, outChannels), `${name}.bn3`);
    return b.relu(b.add(out, shortcut(b, x, name, outChannels, stride)));
  },
};
