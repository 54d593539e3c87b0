/**
 * Configuration: YAML in, normalised and range-checked values out. Every key is optional; the
 * commented defaults are config/huntbook.yml. Problems name the key and the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { HuntbookError } from './errors.ts';
import type { AllowList } from './hunts/beacons/allowlist.ts';
import { parseCidr } from './hunts/network.ts';

export interface Config {
  networks: { internal: string[] };
  beacons: {
    allow: AllowList;
    jitterTolerance: number;
    prevalenceMinHosts: number;
    strobeRecords: number;
  };
  rules: {
    /** Sigma level → detection weight. */
    levelWeights: Record<string, number>;
    /** Values for Sigma |expand placeholders (%name%); unknown placeholders match nothing. */
    placeholders: Record<string, string[]>;
  };
  /** Where it came from, for messages. */
  source: string;
}

export const DEFAULT_CONFIG_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'config', 'huntbook.yml');

export class ConfigError extends HuntbookError {}

type Obj = Record<string, unknown>;

function object(value: unknown, key: string, file: string): Obj {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${key} must be a mapping`, { location: { file, field: key } });
  return value as Obj;
}

function strings(value: unknown, key: string, file: string, fallback: string[]): string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' || typeof v === 'number')) {
    throw new ConfigError(`${key} must be a list of strings`, { location: { file, field: key } });
  }
  return value.map(String);
}

function number(value: unknown, key: string, file: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= min && value <= max)) throw new ConfigError(`${key} must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`, { location: { file, field: key } });
  return value;
}

export function normaliseConfig(raw: unknown, file: string, base?: Config): Config {
  const top = object(raw, '(top level)', file);
  for (const key of Object.keys(top)) if (!['networks', 'beacons', 'rules'].includes(key)) throw new ConfigError(`unknown key "${key}" (known: networks, beacons, rules)`, { location: { file, field: key } });
  const rules = object(top.rules, 'rules', file);
  const levels = object(rules.level_weights, 'rules.level_weights', file);
  const levelWeights = { ...(base?.rules.levelWeights ?? {}) };
  for (const [level, weight] of Object.entries(levels)) levelWeights[level] = number(weight, `rules.level_weights.${level}`, file, 0, 0, 1e6);
  const placeholders = { ...(base?.rules.placeholders ?? {}) };
  for (const [name, values] of Object.entries(object(rules.placeholders, 'rules.placeholders', file))) placeholders[name] = strings(values, `rules.placeholders.${name}`, file, []);
  const networks = object(top.networks, 'networks', file);
  const beacons = object(top.beacons, 'beacons', file);
  const allow = object(beacons.allow, 'beacons.allow', file);
  const internal = strings(networks.internal, 'networks.internal', file, base?.networks.internal ?? []);
  const cidrs = strings(allow.cidrs, 'beacons.allow.cidrs', file, base?.beacons.allow.cidrs ?? []);
  for (const [key, list] of [['networks.internal', internal], ['beacons.allow.cidrs', cidrs]] as const) {
    for (const cidr of list) {
      try {
        parseCidr(cidr);
      } catch (error) {
        throw new ConfigError(`${key}: ${(error as Error).message}`, { location: { file, field: key } });
      }
    }
  }
  return {
    networks: { internal },
    beacons: {
      allow: { domains: strings(allow.domains, 'beacons.allow.domains', file, base?.beacons.allow.domains ?? []), cidrs },
      jitterTolerance: number(beacons.jitter_tolerance, 'beacons.jitter_tolerance', file, base?.beacons.jitterTolerance ?? 0.35, 0.01, 1),
      prevalenceMinHosts: number(beacons.prevalence_min_hosts, 'beacons.prevalence_min_hosts', file, base?.beacons.prevalenceMinHosts ?? 5, 1, 1e9),
      strobeRecords: number(beacons.strobe_records, 'beacons.strobe_records', file, base?.beacons.strobeRecords ?? 86400, 10, 1e12),
    },
    rules: { levelWeights, placeholders },
    source: file,
  };
}

function readYaml(path: string): unknown {
  try {
    return parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const line = (error as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new ConfigError(`cannot read config: ${(error as Error).message.split('\n')[0]}`, { location: { file: path, line }, cause: error });
  }
}

/** The shipped defaults, overlaid by ./huntbook.yml or the --config file. */
export function loadConfig(path?: string): Config {
  const defaults = normaliseConfig(readYaml(DEFAULT_CONFIG_PATH), DEFAULT_CONFIG_PATH);
  const chosen = path ?? (existsSync('huntbook.yml') ? 'huntbook.yml' : undefined);
  if (!chosen) return defaults;
  if (!existsSync(chosen)) throw new ConfigError('config file not found', { location: { file: chosen } });
  return normaliseConfig(readYaml(chosen), chosen, defaults);
}
