// Programmatic access to the cnn command (used by its tests and by tools that embed it).
export { main } from './main.js';
export { MODELS, findModel } from './registry.js';
export type { ModelEntry } from './registry.js';
