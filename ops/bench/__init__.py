"""`fiscaflow bench`: bounded workloads measured against baselines of the same run (issue 9)."""
