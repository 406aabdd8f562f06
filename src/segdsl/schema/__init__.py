"""The CRM schema: the profile entity, its typed fields, its source tables and traits."""
