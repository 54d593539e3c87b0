/**
 * Entity names as every part of huntbook compares them: rules write detections with these
 * normalisers, hunts group by them, and the CLI folds a name the user types the same way.
 * SQL builders over an expression; the expression is ours (a column or a bound parameter).
 */
/** Entity values, normalised so that DOMAIN\alice, alice@corp.example and ALICE are one user. */
export const NORMALISE_USER = (expr: string) =>
  `nullif(regexp_replace(regexp_replace(lower(trim(${expr})), '^.*\\\\', ''), '@.*$', ''), '')`;
/** NORMALISE_USER's two patterns as values (DOMAIN\ and @realm), for stages written for any dialect. */
export const USER_DOMAIN = '^.*\\\\';
export const USER_REALM = '@.*$';
/** Host names to their first label (WS-01.corp.example → ws-01); an IP address stays whole. */
export const NORMALISE_HOST = (expr: string) =>
  `nullif(CASE WHEN regexp_full_match(trim(${expr}), '[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*') THEN lower(trim(${expr})) ELSE split_part(lower(trim(${expr})), '.', 1) END, '')`;
/** Accounts that act for the machine, not a person: left out of user entities. */
export const SERVICE_ACCOUNTS = ['system', 'local service', 'network service', 'anonymous logon', '-', 'n/a'];
