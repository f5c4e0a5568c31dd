import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared';

// Two entry points: the platform-neutral trainer, and Node-only data loading (node:fs, node:zlib).
export default defineConfig({ ...libraryBuild, entry: ['src/index.ts', 'src/node.ts'] });
