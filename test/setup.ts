/**
 * Loaded before every test file (npm test: --import ./test/setup.ts): the tests keep their cache
 * (parsed Sigma rule sets, regex verdicts) in a folder of their own, never the user's
 * ~/.cache/huntbook; the CLI processes the tests spawn inherit it.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.HUNTBOOK_CACHE = join(tmpdir(), `huntbook-test-cache-${process.getuid?.() ?? 'user'}`);
