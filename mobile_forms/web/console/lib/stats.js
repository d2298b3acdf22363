// Ranks are the comparison API's tiers (GET /analytics/comparison, `tier` of each group): groups share a
// tier unless the API's test finds them significantly different (its `method` names the test and the
// correction). The browser applies no rule of its own; it only says which tiers are shared. Pure, so node
// tests check it.

/**
 * groups: the groups of ONE comparison response, [{tier}] (tier null: not enough data) → in the same order
 * {rank, tied} or null. rank = the tier; `tied` says another group of the same response has that tier.
 */
export function tierRanks(groups) {
  const counts = new Map();
  for (const { tier } of groups) if (tier !== null && tier !== undefined) counts.set(tier, (counts.get(tier) || 0) + 1);
  return groups.map(({ tier }) => (tier === null || tier === undefined ? null : { rank: tier, tied: counts.get(tier) > 1 }));
}

/** "=2" for a shared rank, "2" alone, "–" for none. */
export function rankText(rank) {
  if (!rank) return "–";
  return `${rank.tied ? "=" : ""}${rank.rank}`;
}
