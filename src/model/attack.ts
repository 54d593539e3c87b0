/**
 * The ATT&CK vocabulary rules and hunts share: tactic tags → the phase a detection is filed
 * under, and technique ids. Pure, no I/O: the bottom of the dependency graph, beside ml/ and store/.
 */
/**
 * ATT&CK tactic tags → phase. Both spellings of defense evasion are accepted: `defense-evasion`
 * (and `defense_evasion`) and ATT&CK v19's split into `stealth` and `defense-impairment`.
 */
export const TACTICS: Record<string, string> = {
  reconnaissance: 'reconnaissance',
  'resource-development': 'resource-development',
  'initial-access': 'initial-access',
  execution: 'execution',
  persistence: 'persistence',
  'privilege-escalation': 'privilege-escalation',
  'defense-evasion': 'defense-evasion',
  stealth: 'defense-evasion',
  'defense-impairment': 'defense-evasion',
  'credential-access': 'credential-access',
  discovery: 'discovery',
  'lateral-movement': 'lateral-movement',
  collection: 'collection',
  'command-and-control': 'command-and-control',
  exfiltration: 'exfiltration',
  impact: 'impact',
};

export function tacticsOf(tags: readonly string[]): string[] {
  const out: string[] = [];
  for (const tag of tags) {
    const m = /^attack\.([a-z_-]+)$/i.exec(tag.trim());
    if (!m) continue;
    const phase = TACTICS[m[1].toLowerCase().replaceAll('_', '-')];
    if (phase && !out.includes(phase)) out.push(phase);
  }
  return out;
}

export function techniquesOf(tags: readonly string[]): string[] {
  return tags.map((t) => /^attack\.(t\d{4}(?:\.\d{3})?)$/i.exec(t.trim())?.[1]?.toUpperCase()).filter((t): t is string => t !== undefined);
}
