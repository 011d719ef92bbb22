"""Beyond the leaderboard: confidence intervals, the shake-up, notifications."""
