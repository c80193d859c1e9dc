/** docker's exit codes for failures of the runtime itself rather than of the command. */
export const EXIT_RUNTIME_ERROR = 125;
export const EXIT_NOT_EXECUTABLE = 126;
export const EXIT_NOT_FOUND = 127;

/**
 * A failure the user can act on. The message is one line that says what went wrong and what to
 * do; the runtime prints it as `ctr: <message>` and exits with `exitCode`, never a stack trace.
 */
export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';

  constructor(
    message: string,
    readonly exitCode: number = EXIT_RUNTIME_ERROR,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Bad flags or arguments: rejected before anything is created. */
export class UsageError extends RuntimeError {}

/**
 * An exercise's stub (`pnpm exercise NN` puts `return todo(...)` where a task's code goes): it
 * stops the runtime with one line that names the task, instead of running without it.
 */
export class TaskNotDone extends RuntimeError {
  constructor(
    readonly task: string,
    what: string,
  ) {
    super(`task ${task} is not done yet: ${what}`);
  }
}

/** The stub of task `task` of an exercise; `what` says what to write and where to read about it. */
export function todo(task: string, what: string): never {
  throw new TaskNotDone(task, what);
}

/** The exit code and one-line message for anything thrown, known or not. */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof RuntimeError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof Error) {
    // A SyscallError's message is already one line naming the call, its arguments and the errno.
    return { message: error.message, exitCode: EXIT_RUNTIME_ERROR };
  }
  return { message: String(error), exitCode: EXIT_RUNTIME_ERROR };
}
