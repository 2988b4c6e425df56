"""crm_migration: CRM migrations as Dagster software-defined assets."""
