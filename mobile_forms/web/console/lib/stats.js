// Ranks that respect uncertainty: a group is ranked below another only when their 95% intervals do not
// overlap (docs/statistics.md); groups without enough data get no rank. Pure, so node tests check it.

/**
 * items: [{score: {mean, ci_low, ci_high, enough_data}}] → ranks in the same order: {rank, tied} or null.
 * rank = 1 + the number of groups clearly better (their lower bound above this one's upper bound);
 * `tied` says another group shares the rank.
 */
export function tierRanks(items) {
  const scored = items.map((item) => (item.score?.enough_data && item.score.mean !== null ? item.score : null));
  const ranks = scored.map((score) => {
    if (!score) return null;
    const better = scored.filter((other) => other && other !== score && other.ci_low > score.ci_high).length;
    return 1 + better;
  });
  return ranks.map((rank) => (rank === null ? null : { rank, tied: ranks.filter((r) => r === rank).length > 1 }));
}

/** "=2" for a shared rank, "2" alone, "–" for none. */
export function rankText(rank) {
  if (!rank) return "–";
  return `${rank.tied ? "=" : ""}${rank.rank}`;
}
