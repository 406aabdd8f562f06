"""Data in and out: typed tables and CSV, the database engines, atomic files, the synthetic CRM."""
