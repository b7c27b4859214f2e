"""The runbook engine, independent of any world: steps, dry-run plans, journals, resumable runs."""
