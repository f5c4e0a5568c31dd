import { defineConfig } from 'tsup';
import { moduleBuild, nodeTwinEntries } from '../../tsup.shared';

const entry = { index: 'src/index.ts', testing: 'src/testing.ts', 'torchvision-weights': 'src/torchvision-weights.ts', 'pth-reader': 'src/pth-reader.ts' };

// shims: the testing entry finds the golden tools with import.meta.url, which CommonJS gets from the shim.
export default defineConfig(() => moduleBuild({ ...entry, ...nodeTwinEntries('src/node') }, { shims: true }));
