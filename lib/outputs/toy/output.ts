import { appendFileSync } from 'node:fs';
import type { PushOutput } from '../push.js';

/** Scratch: a toy push output that appends one line per run to a file. */
export function toyOutput(file: string): PushOutput {
  let jobs = 0;
  return {
    name: 'toy',
    onJob: () => void jobs++,
    async publish(collection) {
      appendFileSync(file, `toy: ${collection.ok ? 'up' : 'down'}, ${jobs} jobs\n`);
      return { summary: { toy: { jobs } } };
    },
  };
}
