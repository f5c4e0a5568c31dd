// @cnn/alexnet: AlexNet with torchvision's keys, and the 2012 paper's form with local response normalisation.
export {
  alexnet,
  alexnet2012,
  alexnetModel,
  alexnetArchitecture,
  ALEXNET_VARIANTS,
  ALEXNET_TAPS,
  ALEXNET_LRN_TAPS,
  PAPER_LRN,
} from './alexnet.js';
export type { AlexNetConfig, AlexNetOptions, AlexNetVariant, LocalResponseNormParams } from './alexnet.js';
