import { defineConfig } from 'tsup';
import { libraryBuild, nodeTwinEntries } from '../../tsup.shared';

const entry = { index: 'src/index.ts', testing: 'src/testing.ts', 'torchvision-weights': 'src/torchvision-weights.ts' };

export default defineConfig({ ...libraryBuild, entry: { ...entry, ...nodeTwinEntries('src/node') }, dts: { entry } });
