import type { Command } from "commander"; import type { CliIO } from "./io.ts"; export function registerGenerate(_p: Command, _io: CliIO): void {}
