/**
 * Entity names as every part of huntbook compares them: rules write detections with these
 * normalisers, hunts group by them, and the CLI folds a name the user types the same way.
 * SQL builders over an expression; the expression is ours (a column or a bound parameter).
 */
/** Entity values, normalised so that DOMAIN\alice, alice@corp.example and ALICE are one user. */
export const NORMALISE_USER = (expr: string) =>
  `nullif(regexp_replace(regexp_replace(lower(trim(${expr})), '^.*\\\\', ''), '@.*$', ''), '')`;
export const NORMALISE_HOST = (expr: string) => `nullif(split_part(lower(trim(${expr})), '.', 1), '')`;
/** Accounts that act for the machine, not a person: left out of user entities. */
export const SERVICE_ACCOUNTS = ['system', 'local service', 'network service', 'anonymous logon', '-', 'n/a'];
