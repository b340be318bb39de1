import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Started {
  readonly child: ChildProcess;
  /** What `ready` matched in the output. */
  readonly match: RegExpMatchArray;
  /** stdout + stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Spawns a process and waits until its output matches `ready` (deadline), returning the match. */
export async function startProcess(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { ready: RegExp; deadlineMs?: number },
): Promise<Started> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${command} not ready after ${options.deadlineMs ?? 15_000} ms:\n${out}`)),
      options.deadlineMs ?? 15_000,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = out.match(options.ready);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready:\n${out}`));
    });
  }).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  return { child, match, output: () => out, stop };
}
