// What each sniffed format is called in error messages. Its own module so the package index can
// export it without linking the readers (see readers.ts).
import type { SniffedFormat } from './sniff.js';

export const FORMAT_NAMES: Record<SniffedFormat, string> = {
  'pytorch-zip': 'a PyTorch checkpoint (zip, torch >= 1.6)',
  'pytorch-legacy': 'a PyTorch checkpoint (legacy pickle stream)',
  pickle: 'a Python pickle',
  safetensors: 'a .safetensors file',
  npy: 'a NumPy .npy array',
  gzip: 'a gzip stream',
  tar: 'a tar archive (PyTorch < 0.4 checkpoints are tar files)',
  zip: 'a zip archive',
  hdf5: 'an HDF5 file (Keras .h5?)',
  html: 'an HTML page (a download that returned an error page?)',
  json: 'a JSON document',
  unknown: 'an unknown format',
};
