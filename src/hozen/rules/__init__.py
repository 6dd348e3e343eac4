"""Rules packs (DOMAIN §9): the versioned, effective-dated figures and taxonomy every decision applies.

Modules: `loader` (parse and validate a pack file, line-precise errors), `models` (RulesPack,
Category, SubItem and the value accessors), `storage` (writing a pack's rows; the shipped files),
`services` (publish a new version), `queries` (the pack in force on a date), `cli`
(`hozen rules ...`). The shipped packs are in `packs/` and loaded by migration 0002.
"""
