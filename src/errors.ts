/**
 * One root for every error a user may read. Each carries where it happened (file, line, field)
 * and the exit code the CLI should return; the CLI prints `message` and, with --debug, the stack.
 */
export interface ErrorLocation {
  file?: string;
  line?: number;
  field?: string;
}

export class HuntbookError extends Error {
  readonly exitCode: number;
  readonly location: ErrorLocation;

  constructor(message: string, options: { exitCode?: number; location?: ErrorLocation; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 1;
    this.location = options.location ?? {};
  }

  /** "file:line field: message", the form editors and terminals understand. */
  describe(): string {
    const { file, line, field } = this.location;
    const where = [file, line !== undefined ? String(line) : undefined].filter(Boolean).join(':');
    const prefix = [where, field ? `field ${field}` : ''].filter(Boolean).join(' ');
    return prefix ? `${prefix}: ${this.message}` : this.message;
  }
}

/** Bad flags or arguments: exit code 2, like most Unix tools. */
export class UsageError extends HuntbookError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

/** Input that cannot be read as the format it claims (or any format we know). */
export class InputError extends HuntbookError {}

/** The workspace cannot be opened, is locked, or has a schema newer than this huntbook. */
export class WorkspaceError extends HuntbookError {}

/** Readable input whose fields fit no canonical table: the user must say --as (or skip it). */
export class UnknownTableError extends InputError {}

/** A statement the user wrote (huntbook sql, a rule's SQL) that DuckDB refused. */
export class QueryError extends HuntbookError {}
