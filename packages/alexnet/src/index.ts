// @cnn/alexnet: AlexNet with torchvision's keys, and the 2012 paper's network (96 11x11 filters, two-GPU groups, LRN).
export {
  alexnet,
  alexnet2012,
  alexnetModel,
  alexnetArchitecture,
  ALEXNET_VARIANTS,
  ALEXNET_TAPS,
  ALEXNET_LRN_TAPS,
  ALEXNET_STRIDE_TAPS,
  PAPER_GROUPS,
  PAPER_WIDTHS,
  TORCHVISION_WIDTHS,
  PAPER_LRN,
} from './alexnet.js';
export type { AlexNetConfig, AlexNetOptions, AlexNetVariant, LocalResponseNormParams } from './alexnet.js';
