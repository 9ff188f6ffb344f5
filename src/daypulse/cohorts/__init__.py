"""Signup cohorts and their retention (DESIGN §9): users active in week k after their signup
day, and a cohort's MRR at the end of period k over its MRR at the end of period 0, computed
set-based in the source (``query``), laid out as the retention triangle (``grid``), kept per
computation in the store and read by the CLI, the API and the dashboard."""
