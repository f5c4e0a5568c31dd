import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared';

// Two entry points: the architecture, and the trained weights (./weights) an app opts into.
// shims: the weights entry finds its file with import.meta.url, which CommonJS gets from the shim.
export default defineConfig({ ...libraryBuild, entry: ['src/index.ts', 'src/weights.ts'], shims: true });
