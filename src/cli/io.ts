/** What a command may touch besides the library: its output streams (swapped in tests). */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WriteStream | (NodeJS.WritableStream & { isTTY?: boolean; columns?: number });
}

/** The same, plus where a command's action leaves its exit code (see act() in common.ts). */
export interface CommandIO extends CliIO {
  outcome: { code: number };
}

const output = { stdoutClosed: false };

/** The reader of standard output went away (a closed pipe): what a command still has to say goes to stderr. */
export function markStdoutClosed(): void {
  output.stdoutClosed = true;
}

export function stdoutClosed(): boolean {
  return output.stdoutClosed;
}
