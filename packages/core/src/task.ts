import type { TaskSpec } from './types.js';

/** The built-in losses, by name: what the trainer computes and what every data-parallel thread rebuilds. */
export const LOSS_NAMES = [
  'categoricalCrossentropy',
  'sparseCategoricalCrossentropy',
  'binaryCrossentropy',
  'meanSquaredError',
  'meanAbsoluteError',
] as const;
export type LossName = (typeof LOSS_NAMES)[number];

/** The loss that fits a task's default output head: the one rule shared by the model builders and the trainer. */
export function defaultLossForTask(task: TaskSpec): 'categoricalCrossentropy' | 'binaryCrossentropy' | 'meanSquaredError' {
  switch (task.kind) {
    case 'multiclass':
      return 'categoricalCrossentropy';
    case 'binary':
    case 'multilabel':
      return 'binaryCrossentropy';
    case 'regression':
      return 'meanSquaredError';
  }
}
