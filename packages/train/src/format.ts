// Shapes in error messages, written as @cnn/core writes them.
export const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
