import { spawn } from 'node:child_process';
import { clockEnv } from './clock.js';

const BIN = new URL('../../bin/unstructured-jobs-exporter.mjs', import.meta.url).pathname;

/**
 * Runs the CLI as a user would (`npx unstructured-jobs-exporter …`), with only PATH and `env` in its environment,
 * on the test's clock (clockEnv: under libfaketime the CLI is shifted like the test that builds its data).
 */
export function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...clockEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
