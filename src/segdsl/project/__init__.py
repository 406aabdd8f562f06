"""Projects: `segdsl.toml`, the schema and every `.seg` file of a project, loaded and checked as one workspace."""
