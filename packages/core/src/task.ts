import type { TaskSpec } from './types.js';

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
